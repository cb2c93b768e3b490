/* hotcpu.js: the page's only ways to the host: hotcpu-ctl --json through
 * cockpit.spawn (with the user's administrative access when they have it),
 * and the files autoscale reads and set writes (cockpit.file). */
/* global cockpit */

/* hotcpu-ctl's exit codes (hotcpu-ctl(1), EXIT STATUS). */
export const EXIT_MEANING = {
    0: "done",
    2: "usage error",
    3: "refused, nothing changed",
    4: "a before hook vetoed, nothing changed",
    5: "the hypervisor or the guest agent failed, nothing changed",
    6: "the change did not converge",
    7: "the guest agent did not answer",
};

export function exitMeaning(code) {
    return EXIT_MEANING[code] || `exit status ${code}`;
}

function parseResult(text) {
    const line = (text || "").trim().split("\n").filter(l => l.startsWith("{")).pop();
    if (!line)
        return null;
    try {
        return JSON.parse(line);
    } catch (e) {
        return null;
    }
}

/* Runs `hotcpu-ctl --json ARGS...`; resolves with its object, rejects with
 * { exit, message, result }: the CLI's own sentence when it said one. */
export function ctl(args) {
    return new Promise((resolve, reject) => {
        cockpit.spawn(["hotcpu-ctl", "--json", ...args], { superuser: "try", err: "message" })
                .then(out => {
                    const obj = parseResult(out);
                    if (obj)
                        resolve(obj);
                    else
                        reject({ exit: -1, message: "hotcpu-ctl printed no result" });
                })
                .catch((ex, out) => {
                    const obj = parseResult(out);
                    if (obj && obj.error)
                        reject({ exit: obj.exit, message: obj.error, result: obj });
                    else if (ex.problem === "not-found")
                        reject({ exit: -1, message: "hotcpu-ctl is not installed on this host (package hotcpu)" });
                    else
                        reject({ exit: ex.exit_status ?? -1, message: ex.message || String(ex) });
                });
    });
}

/* `hotcpu-ctl --json watch DOMAIN --load S`: calls @onEvent with each line's
 * object; returns a function that ends it. */
export function watch(domain, seconds, onEvent, onEnd) {
    let buffer = "";
    const proc = cockpit.spawn(["hotcpu-ctl", "--json", "watch", domain, "--load", String(seconds)],
                               { superuser: "try", err: "message" });
    proc.stream(data => {
        buffer += data;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            try {
                onEvent(JSON.parse(line));
            } catch (e) { /* not a line of ours: ignored */ }
        }
    });
    proc.catch(ex => { if (onEnd) onEnd(ex) });
    return () => proc.close("terminated");
}

/* The audit log's records of @domain, newest last; the "attempt" records
 * (exit null: begun, not ended) are left out. */
export function readHistory(path, domain) {
    return Promise.resolve(cockpit.file(path, { superuser: "try", max_read_size: 16 * 1024 * 1024 }).read())
            .then(text => (text || "").split("\n").map(l => {
                try {
                    return JSON.parse(l);
                } catch (e) {
                    return null;
                }
            }).filter(r => r && r.domain === domain && r.exit !== null && r.exit !== undefined));
}

/* Numbers as Cockpit writes them: in the user's language; whole numbers
 * as they are, fractions to Cockpit's 3 significant digits. */
export function num(n) {
    if (n === null || n === undefined || Number.isNaN(n))
        return "–";
    if (Number.isInteger(n))
        return n.toLocaleString(cockpit.language || undefined);
    return cockpit.format_number(n);
}

/* A fraction 0..1 as Cockpit's usage pages write it: "42%". */
export function percent(fraction) {
    if (fraction === null || fraction === undefined || Number.isNaN(fraction))
        return "–";
    return Math.round(fraction * 100).toLocaleString(cockpit.language || undefined) + "%";
}

export function timeText(date) {
    return date.toLocaleTimeString(cockpit.language || undefined);
}
