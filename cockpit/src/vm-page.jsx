/* One VM: its vCPU count and how far it can go, the guest's CPUs, its live
 * load, autoscale and the history of its changes on one time axis. */
/* global cockpit */
import React, { useCallback, useEffect, useState } from "react";
import {
    Alert, Breadcrumb, BreadcrumbItem, Gallery, PageSection, Title,
} from "@patternfly/react-core";

import { readHistory } from "./hotcpu.js";
import { CountCard } from "./count-card.jsx";
import { GuestCpus } from "./guest-cpus.jsx";
import { LoadChart } from "./load-chart.jsx";
import { AutoscaleCard } from "./autoscale.jsx";
import { HistoryTable } from "./history.jsx";
import { CardBoundary } from "./error-boundary.jsx";

const HISTORY_MS = 10000;

export function VmPage({ name, vm, auditLog, refresh }) {
    const [history, setHistory] = useState([]);
    const [historyError, setHistoryError] = useState(null);
    const [topologyTick, setTopologyTick] = useState(0);

    const loadHistory = useCallback(() => {
        if (!auditLog)
            return;
        readHistory(auditLog, name).then(h => { setHistory(h); setHistoryError(null) })
                .catch(ex => setHistoryError(`cannot read the audit log ${auditLog}: ${ex.message}`));
    }, [auditLog, name]);

    useEffect(() => {
        loadHistory();
        const timer = window.setInterval(loadHistory, HISTORY_MS);
        return () => window.clearInterval(timer);
    }, [loadHistory]);

    const changed = () => {
        refresh();
        loadHistory();
        setTopologyTick(t => t + 1);
    };

    return (
        <>
            <PageSection variant="light" type="breadcrumb">
                <Breadcrumb>
                    <BreadcrumbItem to="#/" onClick={ev => { ev.preventDefault(); cockpit.location.go([]) }}>
                        Virtual machines
                    </BreadcrumbItem>
                    <BreadcrumbItem isActive>{name}</BreadcrumbItem>
                </Breadcrumb>
                <Title headingLevel="h1">{name}</Title>
            </PageSection>
            <PageSection>
                {!vm
                    ? <Alert variant="danger" isInline title={`There is no virtual machine '${name}' on this host.`} />
                    : <Gallery hasGutter minWidths={{ default: "100%", lg: "32rem" }}>
                        <CardBoundary><CountCard vm={vm} onChanged={changed} /></CardBoundary>
                        <CardBoundary><GuestCpus vm={vm} tick={topologyTick} /></CardBoundary>
                        <CardBoundary><LoadChart vm={vm} history={history} /></CardBoundary>
                        <CardBoundary><AutoscaleCard vm={vm} /></CardBoundary>
                        <CardBoundary><HistoryTable history={history} error={historyError} /></CardBoundary>
                    </Gallery>}
            </PageSection>
        </>
    );
}
