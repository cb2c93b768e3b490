/* `hotcpu-ctl prepare`: when the VM is not hot-plug ready, a button that
 * shows the dry run's changes first and applies them on confirmation. */
import React, { useEffect, useState } from "react";
import { Alert, Button, Modal, ModalVariant } from "@patternfly/react-core";
import { Table, Tbody, Td, Th, Thead, Tr } from "@patternfly/react-table";

import { ctl, exitMeaning } from "./hotcpu.js";

export function PrepareButton({ vm, onChanged }) {
    const [plan, setPlan] = useState(null); /* the dry run's result */
    const [open, setOpen] = useState(false);
    const [busy, setBusy] = useState(false);
    const [result, setResult] = useState(null);

    /* prepare needs a maximum: the definition's own, so that only what
     * hot plug lacks (hot-pluggable vCPUs, the agent's channel) changes */
    const max = String(vm.config?.maximum ?? vm.live?.maximum ?? 1);

    useEffect(() => {
        if (!vm.persistent)
            return;
        ctl(["prepare", vm.domain, "--max", max, "--dry-run"]).then(setPlan)
                .catch(() => setPlan(null));
    }, [vm.domain, vm.persistent, max, result]);

    if (!plan || plan.ready)
        return result ? <Alert isInline variant={result.ok ? "success" : "danger"} title={result.text} /> : null;

    const apply = () => {
        setBusy(true);
        ctl(["prepare", vm.domain, "--max", max])
                .then(() => setResult({
                    ok: true,
                    text: `The definition of '${vm.domain}' is hot-plug ready; it takes effect after a full shutdown and start.`
                }))
                .catch(ex => setResult({ ok: false, text: `${ex.message} (${exitMeaning(ex.exit)})` }))
                .finally(() => { setBusy(false); setOpen(false); onChanged() });
    };

    return (
        <>
            <Alert isInline variant="info" title="This VM is not ready for vCPU hot plug" style={{ marginBlockStart: "1rem" }}
                   actionLinks={<Button id="prepare" variant="secondary" onClick={() => setOpen(true)}>Prepare for hot plug…</Button>} />
            {result && <Alert isInline variant={result.ok ? "success" : "danger"} title={result.text} />}
            <Modal variant={ModalVariant.medium} title={`Prepare ${vm.domain} for hot plug`} isOpen={open}
                   onClose={() => setOpen(false)}
                   actions={[
                       <Button key="apply" id="prepare-apply" variant="primary" onClick={apply} isLoading={busy} isDisabled={busy}>
                           Change the definition
                       </Button>,
                       <Button key="cancel" variant="link" onClick={() => setOpen(false)}>Cancel</Button>,
                   ]}>
                <p>A dry run says these changes to the persistent definition (maximum {plan.maximum} vCPUs).
                    They take effect after a full shutdown and start, not a reboot from inside the guest.</p>
                <Table aria-label="Changes" variant="compact" id="prepare-changes">
                    <Thead><Tr><Th>What</Th><Th>Now</Th><Th>After</Th></Tr></Thead>
                    <Tbody>
                        {(plan.changes || []).map((c, i) => (
                            <Tr key={i}><Td>{c.what}</Td><Td>{c.before}</Td><Td>{c.after}</Td></Tr>))}
                    </Tbody>
                </Table>
            </Modal>
        </>
    );
}
