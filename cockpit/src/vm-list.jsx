/* Every VM of the connection with its vCPUs and its guest's online CPUs. */
/* global cockpit */
import React from "react";
import { Button, EmptyState, EmptyStateBody, PageSection, Title } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { num } from "./hotcpu.js";

function counts(c) {
    return c ? `${num(c.current)} / ${num(c.maximum)}` : "–";
}

export function VmList({ domains }) {
    return (
        <PageSection variant="light">
            <Title headingLevel="h1">Virtual machines: vCPU hot plug</Title>
            {domains.length === 0
                ? <EmptyState><EmptyStateBody>No virtual machines on this host.</EmptyStateBody></EmptyState>
                : <Table aria-label="Virtual machines" variant="compact" id="vm-list">
                    <Thead>
                        <Tr>
                            <Th>Name</Th>
                            <Th>State</Th>
                            <Th>vCPUs (live / maximum)</Th>
                            <Th>Reachable now</Th>
                            <Th>Guest agent</Th>
                            <Th>Online in guest</Th>
                        </Tr>
                    </Thead>
                    <Tbody>
                        {domains.map(d => (
                            <Tr key={d.uuid || d.domain} data-domain={d.domain}>
                                <Td dataLabel="Name">
                                    <Button variant="link" isInline
                                            onClick={() => cockpit.location.go([d.domain])}>
                                        {d.domain}
                                    </Button>
                                </Td>
                                <Td dataLabel="State">{d.state}</Td>
                                <Td dataLabel="vCPUs" className="vm-live">{counts(d.live)}</Td>
                                <Td dataLabel="Reachable now">
                                    {d["live-range"] ? `${num(d["live-range"].min)}–${num(d["live-range"].max)}` : "–"}
                                </Td>
                                <Td dataLabel="Guest agent">{d["guest-agent"]}</Td>
                                <Td dataLabel="Online in guest" className="vm-online">
                                    {d.guest ? num(d.guest.online) : "–"}
                                </Td>
                            </Tr>
                        ))}
                    </Tbody>
                </Table>}
        </PageSection>
    );
}
