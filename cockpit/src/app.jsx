/* The page: the list of VMs (`hotcpu-ctl list`, refreshed every 5 s), or
 * one VM's page when the location names it (#/DOMAIN). */
/* global cockpit */
import React, { useCallback, useEffect, useState } from "react";
import { Alert, Page, PageSection, Spinner } from "@patternfly/react-core";

import { ctl } from "./hotcpu.js";
import { VmList } from "./vm-list.jsx";
import { VmPage } from "./vm-page.jsx";

const REFRESH_MS = 5000;

export function App() {
    const [path, setPath] = useState(cockpit.location.path);
    const [list, setList] = useState(null);
    const [error, setError] = useState(null);

    const refresh = useCallback(() => {
        return ctl(["list"]).then(obj => { setList(obj); setError(null) })
                .catch(ex => setError(ex.message));
    }, []);

    useEffect(() => {
        const onLocation = () => setPath(cockpit.location.path);
        cockpit.addEventListener("locationchanged", onLocation);
        refresh();
        const timer = window.setInterval(() => { if (!document.hidden) refresh() }, REFRESH_MS);
        return () => {
            cockpit.removeEventListener("locationchanged", onLocation);
            window.clearInterval(timer);
        };
    }, [refresh]);

    let body;
    if (error && !list)
        body = <Alert variant="danger" isInline title={error} />;
    else if (!list)
        body = <Spinner aria-label="Loading the virtual machines" />;
    else if (path.length > 0) {
        const vm = list.domains.find(d => d.domain === path[0]);
        body = <VmPage name={path[0]} vm={vm} auditLog={list["audit-log"]} refresh={refresh} />;
    } else
        body = <VmList domains={list.domains} />;

    return (
        <Page>
            {error && list && <PageSection variant="light"><Alert variant="warning" isInline title={error} /></PageSection>}
            {body}
        </Page>
    );
}
