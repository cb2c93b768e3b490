/* The audit log's records of this VM: who or what changed it, from, to. */
import React from "react";
import { Alert, Card, CardBody, CardTitle } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { num, timeText } from "./hotcpu.js";

const SHOWN = 20;

export function HistoryTable({ history, error }) {
    const rows = history.slice(-SHOWN).reverse();
    return (
        <Card id="history">
            <CardTitle component="h2">History</CardTitle>
            <CardBody>
                {error && <Alert isInline variant="warning" title={error} />}
                {rows.length === 0 && !error && <p>No change recorded yet.</p>}
                {rows.length > 0 && (
                    <Table aria-label="History of changes" variant="compact" id="history-table">
                        <Thead>
                            <Tr><Th>Time</Th><Th>Command</Th><Th>Reason</Th><Th>From</Th><Th>To</Th><Th>Outcome</Th></Tr>
                        </Thead>
                        <Tbody>
                            {rows.map((r, i) => (
                                <Tr key={i} className="history-row">
                                    <Td dataLabel="Time">{timeText(new Date(r.time))}</Td>
                                    <Td dataLabel="Command">{r.command}</Td>
                                    <Td dataLabel="Reason">{r.reason || (r.user ? `by ${r.user}` : "–")}</Td>
                                    <Td dataLabel="From">{num(r.previous)}</Td>
                                    <Td dataLabel="To">{num(r.actual ?? r.requested)}</Td>
                                    <Td dataLabel="Outcome">{r.outcome}{r.error ? `: ${r.error}` : ""}</Td>
                                </Tr>))}
                        </Tbody>
                    </Table>)}
            </CardBody>
        </Card>
    );
}
