#!/usr/bin/env node
// The page in a real browser: Debian's headless Chromium driven over the
// DevTools protocol (playwright-core, which drives an installed browser and
// downloads none), against cockpit-ws and a real guest.  tests/e2e/
// test_cockpit.c boots the guest, starts cockpit-ws and runs this; it exits
// non-zero on the first failed check, saying what it saw.
//
// Environment: HOTCPU_COCKPIT_URL (http://127.0.0.1:PORT), HOTCPU_DOMAIN (a
// running guest with 1 of 4 vCPUs, 4 reachable by libvirt but 3 by the host
// policy), HOTCPU_HOOKS_DIR and HOTCPU_AUDIT_LOG (those of the hotcpu-ctl
// the bridge runs), HOTCPU_SHOTS (the screenshots' folder), HOTCPU_CHROMIUM
// (default /usr/bin/chromium), HOTCPU_AUTOSCALE_DIR (default
// /etc/hotcpu/autoscale.d).
import { chromium } from "playwright-core";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";

const env = name => {
    const v = process.env[name];
    if (!v)
        throw new Error(`${name} is not set`);
    return v;
};
const base = env("HOTCPU_COCKPIT_URL");
const dom = env("HOTCPU_DOMAIN");
const hooksDir = env("HOTCPU_HOOKS_DIR");
const auditLog = env("HOTCPU_AUDIT_LOG");
const shots = env("HOTCPU_SHOTS");
const autoscaleDir = process.env.HOTCPU_AUTOSCALE_DIR || "/etc/hotcpu/autoscale.d";
const TIMEOUT = 90000;

rmSync(shots, { recursive: true, force: true }); // only this run's states
mkdirSync(shots, { recursive: true });
let step = 0;
const log = msg => console.log(`browser: ${msg}`);

function check(cond, what) {
    if (!cond)
        throw new Error(`check failed: ${what}`);
    log(`ok: ${what}`);
}

const browser = await chromium.launch({
    executablePath: process.env.HOTCPU_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // root in a container: Chromium's sandbox needs user namespaces
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 1700 } });
const page = await context.newPage();
page.setDefaultTimeout(TIMEOUT);
page.on("console", m => { if (m.type() === "error") log(`console error: ${m.text()}`) });

async function shot(name) {
    step++;
    const file = join(shots, `${String(step).padStart(2, "0")}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot ${file}`);
}

// the page inside Cockpit's shell
const frame = () => page.frameLocator("iframe[name='cockpit1:localhost/hotcpu']");
const veto = join(hooksDir, "before_set_num_of_cpus", "05_browser_veto");
const confPath = join(autoscaleDir, `${dom}.conf`);

try {
    await page.goto(`${base}/hotcpu`);
    const f = frame();

    // 1. the VM is listed with the right counts
    const row = f.locator(`#vm-list tr[data-domain='${dom}']`);
    await row.waitFor();
    await f.locator(`#vm-list tr[data-domain='${dom}'] .vm-online`).filter({ hasText: /^1$/ }).waitFor();
    const live = (await row.locator(".vm-live").innerText()).trim();
    check(live === "1 / 4", `the list shows ${dom} with 1 / 4 vCPUs live (saw '${live}')`);
    check((await row.locator(".vm-online").innerText()).trim() === "1", "the list shows 1 CPU online in the guest");
    await shot("list");

    // 2. its page, reached with the keyboard
    await row.getByRole("button", { name: dom }).focus();
    await page.keyboard.press("Enter");
    await f.locator("#count-card").waitFor();
    await f.locator("#guest-cpu-table tr.cpu-online").first().waitFor();
    check(await f.locator("#guest-cpu-table tr.cpu-online").count() === 1, "the guest's table shows 1 online CPU");
    await shot("vm-page");

    // 3. out of range: 4 is greyed out with the policy's reason and cannot be applied
    const four = f.locator(".hotcpu-value[data-value='4']");
    check(await four.getAttribute("aria-disabled") === "true", "4 vCPUs is greyed out");
    const fourWhy = await four.getAttribute("title");
    check(/host policy/.test(fourWhy), `4 vCPUs says why: '${fourWhy}'`);
    await four.click({ force: true });
    const input = f.locator("#count-input input");
    check(await input.inputValue() === "1", "clicking the greyed-out 4 does not pick it");
    await input.fill("4");
    await f.locator("#count-why").waitFor();
    check(await f.locator("#apply").isDisabled(), "Apply is disabled for 4 vCPUs");
    const why = await f.locator("#count-why").innerText();
    check(/cannot be applied: above 3: the host policy/.test(why), `the page says why 4 cannot: '${why}'`);
    await shot("out-of-range");

    // 4. set 1 -> 3, keyboard only: type, Tab to Apply, Enter
    await input.fill("3");
    await input.focus();
    for (let i = 0; i < 8; i++) {
        await page.keyboard.press("Tab");
        const id = await f.locator(":focus").getAttribute("id");
        if (id === "apply")
            break;
    }
    check(await f.locator(":focus").getAttribute("id") === "apply", "Tab reaches Apply");
    await page.keyboard.press("Enter");
    const result = f.locator("#set-result");
    await result.waitFor();
    const sentence = await result.innerText();
    check(/now has 3 vCPUs \(was 1\)/.test(sentence), `Apply says the CLI's sentence: '${sentence.replace(/\n/g, " | ")}'`);
    check(/The guest confirmed 3 CPUs present and online/.test(sentence), "the guest confirmed 3");
    await f.locator("#guest-cpu-table tr.cpu-online").nth(2).waitFor();
    check(await f.locator("#guest-cpu-table tr.cpu-online").count() === 3, "the guest's table shows 3 online CPUs");
    const hist = f.locator("#history-table .history-row").first();
    await hist.filter({ hasText: "set" }).waitFor();
    const histText = (await hist.innerText()).replace(/\s+/g, " ");
    check(/set .* 1 3 done/.test(histText), `the history shows the change 1 -> 3 done: '${histText}'`);
    await shot("set-3");
    // the guest was booted hot-plug ready: prepare's dry run says so, no button
    check(await f.locator("#prepare").count() === 0, "a hot-plug ready VM offers no Prepare button");

    // 5. a vetoing before hook: the page shows the CLI's own sentence
    mkdirSync(join(hooksDir, "before_set_num_of_cpus"), { recursive: true });
    writeFileSync(veto, "#!/bin/sh\necho 'maintenance window: no vCPU changes now' >&2\nexit 1\n");
    chmodSync(veto, 0o755);
    await input.fill("2");
    await f.locator("#apply").click();
    await f.locator("#set-result.pf-m-danger").waitFor();
    const vetoText = await f.locator("#set-result").innerText();
    // the sentence hotcpu-ctl said for this very run, as its audit record keeps it
    const record = readFileSync(auditLog, "utf8").trim().split("\n").map(l => JSON.parse(l))
            .filter(r => r.domain === dom && r.exit !== null).pop();
    check(record.outcome === "vetoed" && record.exit === 4, `the run was recorded as vetoed, exit 4 (${record.outcome}, ${record.exit})`);
    check(vetoText.includes(record.error), `the page shows the CLI's sentence '${record.error}' (saw '${vetoText.replace(/\n/g, " | ")}')`);
    check(/a before hook vetoed, nothing changed \(exit 4\)/.test(vetoText), "the page says what exit 4 means");
    await f.locator("#guest-cpu-table tr.cpu-online").nth(2).waitFor();
    check(await f.locator("#guest-cpu-table tr.cpu-online").count() === 3, "after the veto the guest's table still shows 3 online CPUs");
    await shot("veto");
    rmSync(veto, { force: true });

    // 6. autoscale: enable writes the conf and starts the unit, or says why it cannot
    rmSync(confPath, { force: true });
    await f.locator("#autoscale-min").fill("1");
    await f.locator("#autoscale-max").fill("3");
    await f.locator("#autoscale-target").fill("0.6");
    await f.locator("#autoscale-enable").click();
    await f.locator("#autoscale-message").waitFor();
    const asText = await f.locator("#autoscale-message").innerText();
    check(existsSync(confPath), `enabling autoscale writes ${confPath}`);
    const conf = readFileSync(confPath, "utf8");
    check(/\[autoscale\]\nmin=1\nmax=3\ntarget=0.6\n/.test(conf), `the conf holds min, max and target: ${JSON.stringify(conf)}`);
    const pid1 = readFileSync("/proc/1/comm", "utf8").trim();
    if (pid1 === "systemd")
        check(/enabled and started/.test(asText), `the unit was started: '${asText}'`);
    else
        check(asText.includes(`systemd is not the init system of this host (PID 1 is '${pid1}')`),
              `without systemd as PID 1 the page says why: '${asText}'`);
    await shot("autoscale");
    rmSync(confPath, { force: true });

    // 7. a narrow window in the dark theme
    await page.setViewportSize({ width: 420, height: 900 });
    await page.evaluate(() => localStorage.setItem("shell:style", "dark"));
    await page.reload();
    await frame().locator("#count-card").waitFor();
    const dark = await frame().locator("html").getAttribute("class");
    check(/pf-v5-theme-dark/.test(dark || ""), "the dark theme is applied");
    await frame().locator("#guest-cpu-table").waitFor();
    await shot("dark-narrow");
    log("all checks passed");
} catch (ex) {
    log(`FAILED: ${ex.message}`);
    try { await shot("failure") } catch (e) { /* the browser is gone */ }
    rmSync(veto, { force: true });
    rmSync(confPath, { force: true });
    await browser.close();
    process.exit(1);
}
await browser.close();
