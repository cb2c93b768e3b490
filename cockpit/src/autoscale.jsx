/* Autoscale as a service: the state of hotcpu-autoscale@DOMAIN.service
 * (systemd over D-Bus), and enabling or disabling it with min/max/target
 * written to /etc/hotcpu/autoscale.d/DOMAIN.conf. */
/* global cockpit */
import React, { useCallback, useEffect, useState } from "react";
import {
    ActionGroup, Alert, Button, Card, CardBody, CardTitle, Form, FormGroup, TextInput,
} from "@patternfly/react-core";

const CONF_DIR = "/etc/hotcpu/autoscale.d";
const MANAGER = ["/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"];

/* The instance name: the domain's name when systemd takes it as it is
 * (docs/autoscale.md), else its UUID. */
function instance(vm) {
    return /^[A-Za-z0-9_.:][A-Za-z0-9_.:-]*$/.test(vm.domain) ? vm.domain : vm.uuid;
}

function parseConf(text) {
    const conf = {};
    let inGroup = false;
    for (const raw of (text || "").split("\n")) {
        const l = raw.trim();
        if (l.startsWith("["))
            inGroup = l === "[autoscale]";
        else if (inGroup && /^[a-z-]+\s*=/.test(l)) {
            const i = l.indexOf("=");
            conf[l.slice(0, i).trim()] = l.slice(i + 1).trim();
        }
    }
    return conf;
}

/* cockpit.js's own promises (cockpit.file, cockpit.dbus) have no finally():
 * each is wrapped in a native Promise. */

/* Why systemd cannot run the unit here, or null when it can. */
function systemdMissing() {
    return Promise.resolve(cockpit.file("/proc/1/comm").read())
            .then(comm => {
                comm = (comm || "").trim();
                return comm === "systemd" ? null : `systemd is not the init system of this host (PID 1 is '${comm}')`;
            })
            .catch(ex => `cannot tell which init system runs: ${ex.message}`);
}

export function AutoscaleCard({ vm }) {
    const name = instance(vm);
    const unit = `hotcpu-autoscale@${name}.service`;
    const confPath = `${CONF_DIR}/${name}.conf`;
    const [state, setState] = useState(null); /* { active, file } */
    const [noSystemd, setNoSystemd] = useState(null);
    const [conf, setConf] = useState({ min: "1", max: String(vm["live-range"]?.max ?? vm.live?.maximum ?? vm.config?.maximum ?? 1), target: "0.75" });
    const [message, setMessage] = useState(null);
    const [busy, setBusy] = useState(false);

    const readState = useCallback(() => {
        systemdMissing().then(why => {
            setNoSystemd(why);
            if (why)
                return;
            const client = cockpit.dbus("org.freedesktop.systemd1", { superuser: "try" });
            Promise.resolve(client.call(...MANAGER, "LoadUnit", [unit]))
                    .then(([path]) => client.call(path, "org.freedesktop.DBus.Properties", "GetAll",
                                                  ["org.freedesktop.systemd1.Unit"]))
                    .then(([props]) => setState({
                        active: props.ActiveState?.v, sub: props.SubState?.v, file: props.UnitFileState?.v, load: props.LoadState?.v,
                    }))
                    .catch(ex => setMessage({ ok: false, text: `systemd: ${ex.message}` }))
                    .finally(() => client.close());
        });
    }, [unit]);

    useEffect(() => {
        readState();
        Promise.resolve(cockpit.file(confPath, { superuser: "try" }).read())
                .then(text => { if (text) setConf(c => ({ ...c, ...parseConf(text) })) })
                .catch(() => {});
        const timer = window.setInterval(readState, 5000);
        return () => window.clearInterval(timer);
    }, [readState, confPath]);

    const min = Number(conf.min), max = Number(conf.max), target = Number(conf.target);
    const limit = vm.live?.maximum ?? vm.config?.maximum ?? 1;
    let invalid = null;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || min > max || max > limit)
        invalid = `the bounds must be whole numbers with 1 ≤ min ≤ max ≤ ${limit} (the domain's maximum)`;
    else if (!(target > 0 && target <= 1))
        invalid = "the target is a busy fraction between 0 and 1";

    const systemd = (method, args) => {
        const client = cockpit.dbus("org.freedesktop.systemd1", { superuser: "try" });
        return Promise.resolve(client.call(...MANAGER, method, args)).finally(() => client.close());
    };

    const enable = () => {
        setBusy(true);
        setMessage(null);
        const text = "# written by the Cockpit page hotcpu; docs/autoscale.md, hotcpu-ctl(1)\n" +
            `[autoscale]\nmin=${min}\nmax=${max}\ntarget=${target}\n`;
        Promise.resolve(cockpit.file(confPath, { superuser: "try" }).replace(text))
                .then(() => {
                    if (noSystemd)
                        throw new Error(`${confPath} is written, but ${unit} cannot be started: ${noSystemd}. ` +
                                        `Run 'hotcpu-ctl autoscale ${name}' under the service manager of this host instead.`);
                    return systemd("EnableUnitFiles", [[unit], false, true])
                            .then(() => systemd(state?.active === "active" ? "RestartUnit" : "StartUnit", [unit, "replace"]));
                })
                .then(() => setMessage({ ok: true, text: `${confPath} written; ${unit} enabled and started.` }))
                .catch(ex => setMessage({ ok: false, text: ex.message }))
                .finally(() => { setBusy(false); readState() });
    };

    const disable = () => {
        setBusy(true);
        setMessage(null);
        systemd("StopUnit", [unit, "replace"])
                .then(() => systemd("DisableUnitFiles", [[unit], false]))
                .then(() => setMessage({ ok: true, text: `${unit} stopped and disabled; ${confPath} kept.` }))
                .catch(ex => setMessage({ ok: false, text: ex.message }))
                .finally(() => { setBusy(false); readState() });
    };

    const field = (key, label, help) => (
        <FormGroup label={label} fieldId={`autoscale-${key}`}>
            <TextInput id={`autoscale-${key}`} value={conf[key] ?? ""} inputMode="decimal"
                       aria-describedby={help ? `autoscale-${key}-help` : undefined}
                       onChange={(_ev, v) => setConf(c => ({ ...c, [key]: v }))} />
        </FormGroup>);

    return (
        <Card id="autoscale">
            <CardTitle component="h2">Autoscale</CardTitle>
            <CardBody>
                <p id="autoscale-state">
                    {noSystemd
                        ? `${unit} cannot run here: ${noSystemd}.`
                        : state ? `${unit}: ${state.active} (${state.sub}), ${state.file || "not installed"}` : `${unit}: …`}
                </p>
                <Form isHorizontal onSubmit={ev => { ev.preventDefault(); if (!invalid) enable() }}>
                    {field("min", "Fewest vCPUs")}
                    {field("max", "Most vCPUs")}
                    {field("target", "Target busy fraction")}
                    {invalid && <Alert isInline variant="danger" title={invalid} />}
                    <ActionGroup>
                        <Button id="autoscale-enable" type="submit" variant="primary" isDisabled={busy || !!invalid}>
                            {state?.active === "active" ? "Apply and restart" : "Enable"}
                        </Button>
                        <Button id="autoscale-disable" variant="secondary" onClick={disable}
                                isDisabled={busy || !!noSystemd || state?.active !== "active"}>
                            Disable
                        </Button>
                    </ActionGroup>
                </Form>
                {message && <Alert id="autoscale-message" isInline variant={message.ok ? "success" : "danger"}
                                   title={message.text} style={{ marginBlockStart: "1rem" }} />}
            </CardBody>
        </Card>
    );
}
