/* The guest's busy fraction, CPU pressure and vCPU count, live from
 * `hotcpu-ctl watch --json --load`, with the audit log's changes marked on
 * the same time axis. */
import React, { useEffect, useRef, useState } from "react";
import { Alert, Card, CardBody, CardTitle } from "@patternfly/react-core";

import { num, percent, timeText, watch } from "./hotcpu.js";

const LOAD_S = 2;
const WINDOW_MS = 5 * 60 * 1000;
const W = 600, H = 160, PAD_L = 34, PAD_R = 30, PAD_T = 8, PAD_B = 18;

export function LoadChart({ vm, history }) {
    const [samples, setSamples] = useState([]);
    const [error, setError] = useState(null);
    const vcpus = useRef(vm.live?.current ?? null);
    vcpus.current = vm.live?.current ?? vcpus.current;

    useEffect(() => {
        if (!vm.running)
            return;
        const stop = watch(vm.domain, LOAD_S, ev => {
            if (ev.error)
                setError(ev.error);
            if (ev.event !== "load" || !ev.data)
                return;
            const t = ev.time ? Date.parse(ev.time) : Date.now();
            const p = ev.data.pressure ? ev.data.pressure["some-avg10"] : null;
            setSamples(s => [...s.filter(x => x.t > t - WINDOW_MS),
                { t, busy: ev.data.busy, pressure: p, vcpus: vcpus.current }]);
            setError(null);
        }, ex => setError(`hotcpu-ctl watch ended: ${ex.message}`));
        return stop;
    }, [vm.domain, vm.running]);

    const now = Date.now();
    const t0 = now - WINDOW_MS;
    const maxV = Math.max(1, vm.live?.maximum ?? 1);
    const x = t => PAD_L + (W - PAD_L - PAD_R) * (t - t0) / WINDOW_MS;
    const y = f => PAD_T + (H - PAD_T - PAD_B) * (1 - f);
    const line = (key, scale) => samples.filter(s => s[key] !== null && s[key] !== undefined)
            .map(s => `${x(s.t).toFixed(1)},${y(s[key] / scale).toFixed(1)}`).join(" ");
    const changes = history.filter(r => Date.parse(r.time) > t0 && r.outcome);
    const last = samples[samples.length - 1];
    const label = last
        ? `Last sample at ${timeText(new Date(last.t))}: busy ${percent(last.busy)}, CPU pressure ${percent(last.pressure)}, ${num(last.vcpus)} vCPUs`
        : "No load sample yet";

    return (
        <Card id="load-chart">
            <CardTitle component="h2">Guest load</CardTitle>
            <CardBody>
                {error && <Alert isInline variant="warning" title={error} />}
                <svg className="hotcpu-chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label}>
                    {[0, 0.5, 1].map(f => (
                        <g key={f}>
                            <line className="grid" x1={PAD_L} x2={W - PAD_R} y1={y(f)} y2={y(f)} />
                            <text x={2} y={y(f) + 3}>{percent(f)}</text>
                            <text x={W - PAD_R + 4} y={y(f) + 3}>{num(Math.round(maxV * f))}</text>
                        </g>))}
                    <text x={PAD_L} y={H - 4}>{timeText(new Date(t0))}</text>
                    <text x={W - PAD_R} y={H - 4} textAnchor="end">{timeText(new Date(now))}</text>
                    {changes.map((r, i) => (
                        <line key={i} className="change" x1={x(Date.parse(r.time))} x2={x(Date.parse(r.time))}
                              y1={PAD_T} y2={H - PAD_B}>
                            <title>{`${timeText(new Date(r.time))}: ${r.command} ${num(r.previous)} → ${num(r.actual ?? r.requested)}, ${r.outcome}`}</title>
                        </line>))}
                    <polyline className="busy" points={line("busy", 1)} />
                    <polyline className="pressure" points={line("pressure", 1)} />
                    <polyline className="vcpus" points={line("vcpus", maxV)} />
                </svg>
                <div className="hotcpu-legend" aria-hidden="true">
                    <span><span className="hotcpu-swatch busy" />busy</span>
                    <span><span className="hotcpu-swatch pressure" />CPU pressure</span>
                    <span><span className="hotcpu-swatch vcpus" />vCPUs (right axis)</span>
                    <span><span className="hotcpu-swatch change" />a recorded change</span>
                </div>
                <p id="load-last">{label}</p>
            </CardBody>
        </Card>
    );
}
