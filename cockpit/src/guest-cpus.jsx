/* The guest's CPUs as `hotcpu-ctl topology` sees them. */
import React, { useEffect, useState } from "react";
import { Alert, Card, CardBody, CardTitle } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { ctl, num } from "./hotcpu.js";

const REFRESH_MS = 5000;

function field(v) {
    return v === null || v === undefined ? "–" : num(v);
}

export function GuestCpus({ vm, tick }) {
    const [topo, setTopo] = useState(null);
    const [error, setError] = useState(null);

    useEffect(() => {
        if (!vm.running)
            return;
        const load = () => ctl(["topology", vm.domain]).then(t => { setTopo(t); setError(null) })
                .catch(ex => setError(ex.message));
        load();
        const timer = window.setInterval(() => { if (!document.hidden) load() }, REFRESH_MS);
        return () => window.clearInterval(timer);
    }, [vm.domain, vm.running, tick]);

    const cpus = topo?.cpus || [];
    return (
        <Card id="guest-cpus">
            <CardTitle component="h2">
                {topo ? `Guest CPUs: ${num(topo["online-count"])} online of ${num(topo["present-count"])} present` : "Guest CPUs"}
            </CardTitle>
            <CardBody>
                {!vm.running && <p>The guest is not running.</p>}
                {error && <Alert isInline variant="warning" title={error} />}
                {topo && (
                    <Table aria-label="Guest CPUs" variant="compact" id="guest-cpu-table">
                        <Thead>
                            <Tr><Th>CPU</Th><Th>Online</Th><Th>Socket</Th><Th>Core</Th><Th>Node</Th><Th>Can go offline</Th></Tr>
                        </Thead>
                        <Tbody>
                            {cpus.map(c => (
                                <Tr key={c.id} className={c.online ? "cpu-online" : "cpu-offline"}>
                                    <Td dataLabel="CPU">{num(c.id)}</Td>
                                    <Td dataLabel="Online">{c.online ? "yes" : "no"}</Td>
                                    <Td dataLabel="Socket">{field(c.socket)}</Td>
                                    <Td dataLabel="Core">{field(c.core)}</Td>
                                    <Td dataLabel="Node">{field(c.node)}</Td>
                                    <Td dataLabel="Can go offline">{c["can-offline"] ? "yes" : "no"}</Td>
                                </Tr>))}
                        </Tbody>
                    </Table>)}
            </CardBody>
        </Card>
    );
}
