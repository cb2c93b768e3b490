/* The vCPU count: the values set can reach now, those it cannot greyed out
 * with the reason; Apply runs `hotcpu-ctl set` and shows its sentence. */
import React, { useEffect, useState } from "react";
import {
    Alert, Button, Card, CardBody, CardTitle, Flex, FlexItem, HelperText, HelperTextItem,
    NumberInput, Spinner, Text, TextContent,
} from "@patternfly/react-core";

import { ctl, exitMeaning, num } from "./hotcpu.js";
import { PrepareButton } from "./prepare.jsx";

/* Why @n cannot be applied now; null when it can. */
function refusal(vm, n) {
    const r = vm["live-range"];
    if (!vm.running)
        return `the domain is ${vm.state}: vCPUs are hot plugged into a running domain`;
    if (!Number.isInteger(n))
        return "not a whole number";
    if (!r)
        return null; /* libvirt does not say: set decides */
    if (n < r.min)
        return `below ${num(r.min)}: ${r["min-reason"]}`;
    if (n > r.max)
        return `above ${num(r.max)}: ${r["max-reason"]}`;
    return null;
}

/* The sentence hotcpu-ctl set says in text mode, from its --json result. */
function successSentence(vm, res) {
    let s = `Domain '${vm.domain}' now has ${res.actual} vCPUs (was ${res.previous}).`;
    if (res.guest === "confirmed")
        s += `\nThe guest confirmed ${res.actual} CPUs present and online (${res["guest-agent"]}).`;
    else if (res.guest)
        s += `\nThe guest's side: ${res.guest}.`;
    for (const w of res.warnings || [])
        s += `\nwarning: ${w}`;
    return s;
}

export function CountCard({ vm, onChanged }) {
    const current = vm.live ? vm.live.current : null;
    const maximum = vm.live ? vm.live.maximum : (vm.config ? vm.config.maximum : 1);
    const [value, setValue] = useState(current ?? 1);
    const [busy, setBusy] = useState(false);
    const [result, setResult] = useState(null);

    useEffect(() => { if (current !== null && !busy) setValue(current) }, [current]); // eslint-disable-line react-hooks/exhaustive-deps

    const why = refusal(vm, value);
    const apply = () => {
        setBusy(true);
        setResult(null);
        ctl(["set", vm.domain, String(value)])
                .then(res => setResult({ ok: true, text: successSentence(vm, res) }))
                .catch(ex => setResult({ ok: false, exit: ex.exit, text: ex.message }))
                .finally(() => { setBusy(false); onChanged() });
    };

    const scale = [];
    for (let n = 1; n <= maximum; n++) {
        const no = refusal(vm, n);
        scale.push(
            <Button key={n} variant={n === value ? "primary" : "secondary"} size="sm"
                    isAriaDisabled={!!no} className="hotcpu-value" data-value={n}
                    aria-label={no ? `${n} vCPUs: cannot, ${no}` : `${n} vCPUs`}
                    title={no ? `${n}: ${no}` : `${n} vCPUs`}
                    onClick={() => setValue(n)}>
                {num(n)}
            </Button>);
    }

    return (
        <Card id="count-card">
            <CardTitle component="h2">vCPUs</CardTitle>
            <CardBody>
                <TextContent>
                    <Text id="count-summary">
                        {vm.live
                            ? `${num(vm.live.current)} of at most ${num(vm.live.maximum)} vCPUs live` +
                              (vm.config ? `; ${num(vm.config.current)} at the next boot` : "")
                            : `Not running; ${num(vm.config?.current)} vCPUs defined`}
                        {vm.guest ? `; ${num(vm.guest.online)} online in the guest` : ""}
                    </Text>
                </TextContent>
                <div className="hotcpu-scale" role="group" aria-label="vCPU counts">{scale}</div>
                <Flex alignItems={{ default: "alignItemsFlexEnd" }} style={{ marginBlockStart: "1rem" }}>
                    <FlexItem>
                        <NumberInput id="count-input" value={value} min={1} max={maximum}
                                     inputName="count" inputAriaLabel="vCPU count" minusBtnAriaLabel="fewer"
                                     plusBtnAriaLabel="more" validated={why ? "error" : "default"}
                                     onMinus={() => setValue(v => v - 1)} onPlus={() => setValue(v => v + 1)}
                                     onChange={ev => setValue(Number(ev.target.value))} />
                    </FlexItem>
                    <FlexItem>
                        <Button id="apply" variant="primary" onClick={apply}
                                isDisabled={busy || !!why || value === current}>
                            Apply
                        </Button>
                    </FlexItem>
                    {busy && <FlexItem><Spinner size="md" aria-label="Applying" /> Applying: checks, hooks, libvirt, the guest's confirmation…</FlexItem>}
                </Flex>
                {why && (
                    <HelperText id="count-why">
                        <HelperTextItem variant="error">{`${num(value)} vCPUs cannot be applied: ${why}`}</HelperTextItem>
                    </HelperText>)}
                {vm["live-range"] && (
                    <HelperText>
                        <HelperTextItem>{`From ${num(vm["live-range"].min)}: ${vm["live-range"]["min-reason"]}.`}</HelperTextItem>
                        <HelperTextItem>{`Up to ${num(vm["live-range"].max)}: ${vm["live-range"]["max-reason"]}.`}</HelperTextItem>
                    </HelperText>)}
                {result && (
                    <Alert id="set-result" isInline variant={result.ok ? "success" : "danger"}
                           title={result.ok ? "Changed" : `Not changed: ${exitMeaning(result.exit)} (exit ${result.exit})`}
                           style={{ marginBlockStart: "1rem" }}>
                        <p className="hotcpu-sentence">{result.text}</p>
                    </Alert>)}
                <PrepareButton vm={vm} onChanged={onChanged} />
            </CardBody>
        </Card>
    );
}
