// End-to-end tests of the web UI: a real `dogwatch up` (whose agent reads this machine's /proc)
// and Debian's chromium. Each test saves a screenshot to target/ui-artifacts/.
// Run: `npm run e2e` in web/ after `cargo build -p dogwatch` and `npm run build`.

import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { join } from "node:path";
import { apiSignIn, ensureArtifacts, launchChromium, sendStatsd, sendSyntheticRun, signIn, sleep, spawnTracked, startUp, stopAll, until } from "./harness.mjs";

const TEST_TIMEOUT_MS = 60_000;
const results = [];
const shots = ensureArtifacts();

async function test(name, fn) {
  const started = Date.now();
  try {
    await Promise.race([fn(), sleep(TEST_TIMEOUT_MS).then(() => Promise.reject(new Error(`took over ${TEST_TIMEOUT_MS / 1000} s`)))]);
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    await page.screenshot({ path: join(shots, `FAILED-${name.replace(/\W+/g, "-")}.png`) }).catch(() => undefined);
    // A test that timed out may still be driving the page: start the next one from a fresh load.
    await page.goto(`${up.base}/processes`).catch(() => undefined);
  }
}

// A hand-made trace as a tracer sends it (v0.4 JSON): a web service calling a payments service
// whose charge fails. Ids and times are exact 64-bit integers, written without going through a double.
const TRACE_ID = 4242424242424242n;
const ROOT_ID = "7001";
const ERROR_SPAN_ID = "7004";
function e2eTrace() {
  const t0 = BigInt(Date.now() - 2000) * 1_000_000n;
  const ms = (n) => BigInt(Math.round(n * 1e6));
  const span = (id, parent, service, name, resource, at, dur, extra = {}) => ({
    trace_id: TRACE_ID,
    span_id: BigInt(id),
    parent_id: BigInt(parent),
    service,
    name,
    resource,
    type: "web",
    start: t0 + ms(at),
    duration: ms(dur),
    error: 0,
    meta: { env: "e2e", version: "1.2.3", ...(extra.meta ?? {}) },
    metrics: { _sampling_priority_v1: 1, ...(extra.metrics ?? {}) },
    ...(extra.type ? { type: extra.type } : {}),
    ...(extra.error ? { error: 1 } : {}),
  });
  return [
    [
      span(ROOT_ID, 0, "e2e-web", "http.request", "GET /checkout", 0, 50, { meta: { "http.status_code": "500", "http.method": "GET", "http.url": "http://shop.local/checkout" } }),
      span(7002, ROOT_ID, "e2e-web", "checkout.validate", "validate_cart", 1, 5),
      span(7003, ROOT_ID, "e2e-web", "http.client", "POST /charge", 8, 38, { type: "http", meta: { "http.status_code": "502" } }),
      span(ERROR_SPAN_ID, 7003, "e2e-payments", "grpc.server", "Charge", 10, 34, {
        error: true,
        meta: {
          // As a tracer marks the spans of a service other than its own (an integration's).
          "_dd.base_service": "e2e-web",
          "error.type": "PaymentDeclined",
          "error.message": "card declined: insufficient funds",
          "error.stack": "Traceback (most recent call last):\n  File \"payments.py\", line 42, in charge\n    raise PaymentDeclined(\"card declined\")",
        },
      }),
      span(7005, ERROR_SPAN_ID, "e2e-payments", "postgres.query", "SELECT balance FROM accounts WHERE id = ?", 12, 8, { type: "sql", meta: { "_dd.base_service": "e2e-web" } }),
    ],
  ];
}

async function sendTrace(apmPort) {
  const body = JSON.stringify(e2eTrace(), (_, v) => (typeof v === "bigint" ? `@@${v}@@` : v)).replace(/"@@(\d+)@@"/g, "$1");
  const r = await fetch(`http://127.0.0.1:${apmPort}/v0.4/traces`, {
    method: "PUT",
    headers: { "content-type": "application/json", "x-datadog-trace-count": "1", "datadog-meta-lang": "javascript" },
    body,
  });
  if (!r.ok) throw new Error(`trace receiver answered ${r.status}: ${await r.text()}`);
}

/** DogStatsD samples for the metrics, events and checks pages: a count in two envs, a gauge, a
 * distribution, an event and a failing service check. */
const EVENT_TITLE = "e2e deploy v2";
const EVENT_TEXT = "rolled out\\nto web-1";
function statsdLines() {
  return [
    ...Array.from({ length: 5 }, () => "page.views:1|c|#env:prod"),
    ...Array.from({ length: 3 }, () => "page.views:2|c|#env:staging"),
    "e2e.temperature:21.5|g|#env:prod",
    ...[12, 15, 40, 80, 200].map((v) => `e2e.latency:${v}|d|#env:prod,service:web`),
    `_e{${EVENT_TITLE.length},${EVENT_TEXT.length}}:${EVENT_TITLE}|${EVENT_TEXT}|t:error|#env:prod,service:web`,
    "_sc|e2e.app.up|2|#env:prod|m:down",
  ];
}

const marker = `dwui-marker-${process.pid}`;
// A process of the test's own, with a secret in its argv that the agent must scrub.
const child = spawnTracked("sh", ["-c", "while :; do sleep 1; done", marker, "--password=topsecret"]);

const up = await startUp();
// A second, synthetic host whose run is sent once: it goes stale after 3 of its 10 s intervals.
await sendSyntheticRun(up.base, up.apiKey, "ghost-host", 120, 1);
const browser = await launchChromium();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
const consoleErrors = [];
page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
page.on("pageerror", (e) => consoleErrors.push(String(e)));
// The tests below run signed in as `e2e` (an Admin), signed in through the sign-in page.
await signIn(page, up.base, up.user);

const total = async () => Number(await page.locator(".subbar .count").getAttribute("data-total"));
const search = page.getByRole("textbox", { name: "Search processes" });
async function setQuery(q) {
  await search.fill(q);
  await search.press("Enter");
}

/** The console errors logged since `before` must be the 400s of queries the server rejected; they are forgotten. */
function expectOnly400s(before) {
  const logged = consoleErrors.splice(before);
  assert.ok(logged.every((e) => /status of 400/.test(e)), logged.join("\n"));
}

/** Enters `text` in the search `box` inside `bar` and waits for the server's error under it, underlined in the query. */
async function enterRejectedQuery(box, text, bar = ".search") {
  await box.fill(text);
  await box.press("Enter");
  const error = page.locator(`${bar} .error`);
  await error.waitFor();
  await page.locator(`${bar} .mirror mark`).waitFor();
  return error;
}

/** Opens a page with its link in the top bar, as a user does. */
async function openFromNav(name, path) {
  await page.locator(".topbar nav a", { hasText: name }).click();
  await page.waitForURL((u) => u.pathname === path);
}

/** Waits for the input `locator` to hold `value` (an input follows the URL a frame after it changes). */
async function untilValue(locator, value) {
  const read = () => locator.inputValue({ timeout: 1000 });
  await until(`the value ${JSON.stringify(value)}`, async () => (await read()) === value, 5000, 100).catch(async (e) => {
    throw new Error(`${e.message}; it is ${JSON.stringify(await read().catch(() => null))}`);
  });
}

/** The metrics explorer's chart once it draws `query` (the previous chart stays while a new query loads). */
async function metricChart(query, ms = 20_000) {
  const chart = page.locator(`.metrics .chart[data-chart="${query}"]`);
  await chart.locator("canvas").first().waitFor({ timeout: ms });
  return chart;
}


/** A page in a browser context of its own (no cookies of the main page's), logging its console
 * errors into `errors`; closed when the test ends (see `withFreshPage`). */
async function withFreshPage(name, fn) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const p = await ctx.newPage();
  const errors = [];
  p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  p.on("pageerror", (e) => errors.push(String(e)));
  try {
    await fn(p, errors);
  } catch (e) {
    await p.screenshot({ path: join(shots, `FAILED-${name}.png`) }).catch(() => undefined);
    throw e;
  } finally {
    await ctx.close();
  }
}

/** The console errors of a page signed out on purpose must be the browser's notes of the
 * 401/403 answers that sent it to the sign-in page (or refused it). */
function expectOnlyRefusals(errors) {
  assert.ok(errors.every((e) => /status of 40[13]/.test(e)), errors.join("\n"));
}

/** Fills and submits the sign-in form on `p`. */
async function submitSignIn(p, name, password) {
  await p.getByRole("textbox", { name: "Username" }).fill(name);
  await p.getByLabel("Password", { exact: true }).fill(password);
  await p.getByRole("button", { name: "Sign in", exact: true }).click();
}

try {
  await test("the page loads at / and lists this host's processes", async () => {
    await page.goto(up.base + "/");
    await page.waitForURL("**/processes");
    await page.locator(".table .tr[data-pid]").first().waitFor({ timeout: 30_000 });
    await page.locator(`[data-facet="host"] label[title="host:${up.hostname}"]`).waitFor({ timeout: 30_000 });
    assert.ok((await total()) > 5, "the agent's host has more than 5 processes");
    await until("the live status to show an update time", async () => /updated \d\d:\d\d:\d\d/.test(await page.locator(".status-line").innerText()));
    await page.screenshot({ path: join(shots, "processes.png") });
  });

  await test("a process started by the test appears, scrubbed, and typing narrows the table", async () => {
    const before = await total();
    await search.click();
    await search.pressSequentially(marker, { delay: 20 });
    const row = page.locator(".table .tr[data-pid]", { hasText: marker });
    await row.first().waitFor({ timeout: 30_000 });
    await until("the table to hold only the marker process", async () => (await total()) === 1);
    assert.ok(before > 1);
    const text = await row.first().innerText();
    assert.match(text, /--password=\*{8}/);
    assert.doesNotMatch(text, /topsecret/);
    assert.equal(Number(await row.first().getAttribute("data-pid")), child.pid);
    assert.match(page.url(), new RegExp(`q=${marker}`));
    await page.screenshot({ path: join(shots, "search.png") });
  });

  await test("the side panel shows the process, its parent and its charts", async () => {
    await page.locator(".table .tr[data-pid]", { hasText: marker }).first().click();
    const panel = page.getByRole("complementary", { name: "Process details" });
    await panel.locator("[data-field=cmdline]").waitFor();
    assert.match(await panel.locator("[data-field=cmdline]").innerText(), /--password=\*{8}/);
    await until("the parent to be this test", async () => Number(await panel.locator(".relative").first().getAttribute("data-pid")) === process.pid);
    await until("history charts", async () => (await panel.locator(".chart canvas").count()) > 0, 40_000, 500);
    assert.match(page.url(), /[?&]p=/);
    await page.screenshot({ path: join(shots, "detail.png") });
    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
  });

  await test("a bad query shows its error under the search bar, at its position", async () => {
    const errorsBefore = consoleErrors.length;
    await setQuery(`(${marker} OR`);
    const error = page.locator(".search .error");
    await error.waitFor();
    assert.match(await error.innerText(), /expected a term after `OR`|unclosed parenthesis/);
    await page.locator(".search .mirror mark").waitFor();
    await setQuery("java a");
    await until("the short-term error", async () => /too short/.test(await error.innerText()));
    assert.equal(await page.locator(".search .mirror mark").innerText(), "a");
    await page.screenshot({ path: join(shots, "query-error.png") });
    await setQuery("");
    await error.waitFor({ state: "detached" });
    // The browser logs each 400 answer; those were the bad queries, and nothing else.
    expectOnly400s(errorsBefore);
  });

  await test("a facet click filters, and a second click removes the filter", async () => {
    await until("all processes", async () => (await total()) > 5);
    const all = await total();
    // Refreshes reorder the values: read one value, then find it again by its filter.
    const title = await page.locator('[data-facet="command"] label.value').first().getAttribute("title");
    const value = title.split(":").slice(1).join(":");
    const facet = page.locator(`[data-facet="command"] label.value[title="${title}"]`);
    await facet.click();
    await until("the URL to carry the filter", async () => decodeURIComponent(page.url()).includes(`q=command:${value}`));
    await until("the table to narrow", async () => (await total()) < all && (await total()) > 0);
    const count = Number((await facet.locator(".count").innerText()).replace(/,/g, ""));
    await until("the total to be the facet's count", async () => (await total()) === count);
    assert.ok(await facet.locator("input").isChecked());
    await until("the search bar to show the filter", async () => (await search.inputValue()) === `command:${value}`);
    await page.screenshot({ path: join(shots, "facet.png") });
    await facet.click();
    await until("the filter to go", async () => (await search.inputValue()) === "");
  });

  await test("group-by shows aggregated rows that expand to their processes", async () => {
    await page.getByRole("button", { name: /^Group by/ }).click();
    await page.locator('input[name="by-user"]').check();
    await page.keyboard.press("Escape");
    const groups = page.locator(".groups .tr.group");
    await groups.first().waitFor();
    assert.match(page.url(), /by=user/);
    // Every process is in exactly one group: the groups' counts add up to the total.
    await until("group counts that add up to the total", async () => {
      const counts = await page.locator(".groups .tr.group .td.num").evaluateAll((cells) =>
        cells.filter((_, i) => i % 6 === 0).map((c) => Number(c.textContent.replace(/,/g, ""))),
      );
      return counts.length >= 2 && counts.reduce((a, b) => a + b, 0) === (await total());
    });
    await groups.first().click();
    await page.locator(".groups .tr.member[data-pid]").first().waitFor();
    await page.screenshot({ path: join(shots, "group-by.png") });
    await page.getByRole("button", { name: /^Group by/ }).click();
    await page.getByRole("button", { name: "No grouping" }).click();
    await page.keyboard.press("Escape");
    await page.locator(".table .tr[data-pid]").first().waitFor();
  });

  await test("the scatter plot draws dots, and clicking one lists its processes", async () => {
    await page.getByRole("button", { name: "Scatter plot" }).click();
    await page.locator(".scatter canvas").waitFor();
    await page.locator(".dot-list button").first().waitFor({ state: "attached" });
    // Hold the dots still, then pick one that no other dot overlaps.
    await page.getByRole("button", { name: /Pause/ }).click();
    const dots = await page.locator(".dot-list button").evaluateAll((bs) =>
      bs.map((b) => ({ x: Number(b.dataset.x), y: Number(b.dataset.y), label: b.textContent.split(":")[0] })),
    );
    assert.ok(dots.length > 1, "more than one dot");
    const over = await page.locator(".scatter .u-over").boundingBox();
    const alone = dots.find((d) => dots.every((o) => o === d || Math.hypot(o.x - d.x, o.y - d.y) > 30) && d.x > 15 && d.y > 15 && d.x < over.width - 15 && d.y < over.height - 15);
    assert.ok(alone, "a dot apart from the others");
    // Click the canvas where the dot is drawn, as a user does.
    await page.mouse.click(over.x + alone.x, over.y + alone.y);
    const picked = page.locator(".picked [data-picked]");
    await until("the dot's processes", async () => Number(await picked.getAttribute("data-picked")) > 0);
    assert.match(await page.locator(".picked h4").innerText(), new RegExp(`command:${alone.label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} `));
    await page.getByRole("button", { name: /Resume/ }).click();
    await page.screenshot({ path: join(shots, "scatter.png") });
    // Log axes and another metric keep drawing.
    await page.locator('select[name="scatter-Y-scale"]').selectOption("log");
    await page.locator('select[name="scatter-X"]').selectOption("threads");
    await until("the URL to keep the axes", async () => /ylog=1/.test(page.url()) && /x=threads/.test(page.url()));
    await page.locator(".scatter canvas").waitFor();
  });

  await test("a saved view survives a page reload and restores the view", async () => {
    await page.goto(`${up.base}/processes?q=${encodeURIComponent(marker)}&by=command&cols=host,pid,command,rss`);
    await page.locator(".groups .tr.group").first().waitFor();
    await page.locator(".views-button").click();
    await page.getByRole("textbox", { name: "View name" }).fill("marker by command");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.locator('[data-view="marker by command"]').waitFor();
    await page.goto(`${up.base}/processes`);
    await page.reload();
    await page.locator(".table .tr[data-pid]").first().waitFor();
    await page.locator(".views-button").click();
    await page.locator('[data-view="marker by command"] .name').click();
    await until("the saved query and grouping", async () => decodeURIComponent(page.url()).includes(`q=${marker}`) && page.url().includes("by=command"));
    await until("the search bar to show the saved query", async () => (await search.inputValue()) === marker);
    await page.locator(".groups .tr.group").first().waitFor();
    await page.screenshot({ path: join(shots, "saved-view.png") });
    // Rename and delete go through the server too.
    await page.locator(".views-button").click();
    await page.locator('[data-view="marker by command"]').getByRole("button", { name: "Rename" }).click();
    await page.getByRole("textbox", { name: "New name" }).fill("marker view");
    await page.getByRole("button", { name: "Rename", exact: true }).click();
    await page.locator('[data-view="marker view"]').waitFor();
    page.once("dialog", (d) => d.accept());
    await page.locator('[data-view="marker view"]').getByRole("button", { name: "Delete" }).click();
    await page.locator('[data-view="marker view"]').waitFor({ state: "detached" });
    const listed = await (await up.api("/api/ui/views?page=processes")).json();
    assert.deepEqual(listed.views, []);
  });

  await test("a link reproduces the view: query, sort, columns and tab", async () => {
    await page.goto(`${up.base}/processes?q=${encodeURIComponent("user:" + userInfo().username)}&sort=rss&order=asc&cols=pid,user,rss,command`);
    await page.locator(".table .tr[data-pid]").first().waitFor();
    const headers = await page.locator(".table .head .td").allInnerTexts();
    assert.deepEqual(headers.map((h) => h.replace(/ [▲▼]$/, "")), ["PID", "User", "RSS", "Command"]);
    assert.match(await page.locator('.table .head [data-column="rss"]').innerText(), /▲/);
  });

  await test("live updates tick, and pause stops them", async () => {
    const stamp = () => page.locator(".status-line [data-updated]").getAttribute("data-updated");
    const first = await stamp();
    await until("a refresh", async () => (await stamp()) !== first, 8000);
    await page.getByRole("button", { name: /Pause/ }).click();
    await sleep(500);
    const paused = await stamp();
    await sleep(4500);
    assert.equal(await stamp(), paused, "no refresh while paused");
    await page.getByRole("button", { name: /Resume/ }).click();
    await until("a refresh after resuming", async () => (await stamp()) !== paused, 8000);
  });

  await test("a stale host is flagged on the process page and the Hosts page", async () => {
    await page.goto(`${up.base}/processes`);
    await page.locator("[data-stale-hosts]").waitFor({ timeout: 45_000 });
    assert.match(await page.locator("[data-stale-hosts]").getAttribute("data-stale-hosts"), /ghost-host/);
    await page.getByRole("link", { name: "Hosts" }).click();
    const row = page.locator(`tr[data-host="${up.hostname}"]`);
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /\d+\.\d+\.\d+/, "agent version");
    assert.match(text, /ago|just now/);
    assert.match(text, /of \d/, "memory total");
    assert.match(await page.locator('tr[data-host="ghost-host"]').innerText(), /stale|not reporting/);
    await page.screenshot({ path: join(shots, "hosts.png") });
    await row.getByRole("link", { name: `processes on ${up.hostname}` }).click();
    await page.waitForURL(/\/processes\?q=host/);
  });

  await test("Hosts: CPU %, load and memory % from the system checks, and the host's page charts them", async () => {
    await openFromNav("Hosts", "/hosts");
    const row = page.locator(`tr[data-host="${up.hostname}"]`);
    // The agent's checks run every 15 s, and CPU has a value from their second run on; the page reloads every 5 s.
    const reading = (name) => row.locator(`[data-reading="${name}"]`).innerText();
    await until("the host's CPU %, load and memory %", async () => /\d%/.test(await reading("cpu")) && /\d/.test(await reading("load")) && /\d%/.test(await reading("memory")), 45_000, 500);
    assert.match(await reading("load"), /\d \(.*\d\/core\)$/, "load and load per core");
    const cpu = Number((await reading("cpu")).replace("%", ""));
    assert.ok(cpu >= 0 && cpu <= 100, `CPU ${cpu}%`);
    assert.equal(await page.locator('tr[data-host="ghost-host"] [data-reading="cpu"]').innerText(), "—", "a host without system metrics");
    await page.screenshot({ path: join(shots, "hosts-readings.png") });

    await row.getByRole("link", { name: up.hostname, exact: true }).click();
    await page.waitForURL((u) => u.pathname === `/hosts/${up.hostname}`);
    await page.locator(`.host-page h2[data-host="${up.hostname}"]`).waitFor();
    assert.match(await page.locator('[data-fact="agent"]').innerText(), /\d+\.\d+\.\d+/);
    assert.match(await page.locator('[data-fact="tags"]').innerText(), /team:ui[\s\S]*role:e2e/);
    for (const title of ["CPU (% of all cores)", "Load average", "Load per core", "Memory", "Network by interface"]) {
      await page.locator(`.host-page .chart[data-chart="${title}"] canvas`).first().waitFor({ timeout: 30_000 });
    }
    // CPU is stacked: user, system, iowait, stolen, each in the legend.
    const legend = await page.locator('.host-page .chart[data-chart="CPU (% of all cores)"] .u-legend').innerText();
    for (const kind of ["user", "system", "iowait", "stolen"]) assert.match(legend, new RegExp(kind));
    assert.match(await page.locator('[data-stat="CPU"] .value').innerText(), /%$/);
    assert.match(await page.locator('[data-stat="Memory used"] .value').innerText(), /%$/);
    // The agent's checks, as its host list entry has them.
    const check = page.locator('.host-checks tr[data-check="cpu"]');
    await check.waitFor({ timeout: 30_000 });
    assert.equal(await check.getAttribute("data-status"), "ok");
    assert.equal(await check.locator(".status-badge").innerText(), "OK");
    // The range is in the URL; the charts follow it (a new host's minutes fill more of 15 min).
    await page.locator(".host-page .range-picker button", { hasText: "15m" }).click();
    await until("range=15m in the URL", async () => new URL(page.url()).searchParams.get("range") === "15m");
    await page.locator('.host-page .chart[data-chart="CPU (% of all cores)"] canvas').first().waitFor();
    await page.screenshot({ path: join(shots, "host.png") });
    await page.locator(".host-checks").screenshot({ path: join(shots, "host-checks.png") });
    // The page's path is a page of the server's: a reload lands on the same host and range.
    await page.reload();
    await page.locator(`.host-page h2[data-host="${up.hostname}"]`).waitFor();
    assert.equal(await page.locator('.host-page .range-picker button[aria-pressed="true"]').innerText(), "15m");
    await page.locator('.host-page .chart[data-chart="CPU (% of all cores)"] canvas').first().waitFor();
    await page.locator(".host-page .processes-link").click();
    await page.waitForURL(/\/processes\?q=host/);
    await until("the processes search to show the host filter", async () => (await search.inputValue()) === `host:${up.hostname}`);
  });

  await test("APM: the services page lists both traced services, and a service page charts them", async () => {
    await sendTrace(up.apmPort);
    await page.goto(`${up.base}/apm/services`);
    // Stats are computed as spans arrive; the page reloads every 10 s, a reload is quicker.
    let checks = 0;
    await until("both services with hits", async () => {
      if ((await page.locator('tr[data-service="e2e-web"]').count()) && (await page.locator('tr[data-service="e2e-payments"]').count())) return true;
      if (++checks % 3 === 0) await page.reload();
      return false;
    }, 45_000, 1000);
    const web = page.locator('tr[data-service="e2e-web"]');
    const cells = await web.locator("td").allInnerTexts();
    assert.ok(Number(cells[3].replace(/,/g, "")) >= 1, `hits of e2e-web: ${cells.join(" | ")}`);
    assert.equal(cells[1], "e2e");
    const pay = await page.locator('tr[data-service="e2e-payments"] td').allInnerTexts();
    assert.ok(Number(pay[5]) >= 1, `errors of e2e-payments: ${pay.join(" | ")}`);
    // Sorting is in the URL.
    await page.locator('th[data-column="service"]').click();
    await until("the sort in the URL", async () => /sort=service/.test(page.url()));
    assert.deepEqual(await page.locator("tr[data-service]").evaluateAll((rs) => rs.map((r) => r.dataset.service).filter((s) => s.startsWith("e2e-"))), ["e2e-payments", "e2e-web"]);
    await page.screenshot({ path: join(shots, "apm-services.png") });
    // e2e-payments' spans name e2e-web as their base service: grouped, it goes right under it.
    assert.equal(await page.locator('tr[data-service="e2e-payments"]').getAttribute("data-base-service"), "e2e-web");
    await page.locator('input[name="group-by-base"]').check();
    await until("group=base in the URL", async () => new URL(page.url()).searchParams.get("group") === "base");
    await until("e2e-payments under e2e-web", async () =>
      JSON.stringify(await page.locator("tr[data-service]").evaluateAll((rs) => rs.filter((r) => r.dataset.service.startsWith("e2e-")).map((r) => `${r.dataset.service}${r.classList.contains("child") ? " (child)" : ""}`))) ===
      JSON.stringify(["e2e-web", "e2e-payments (child)"]));
    assert.equal(await web.locator("td").last().innerText(), "http.request", "the Operation column shows e2e-web's primary operation");

    await web.getByRole("link", { name: "e2e-web" }).click();
    await page.waitForURL(/\/apm\/services\/e2e-web/);
    await page.locator('[data-stat="Hits"]').waitFor();
    // The operation selector offers the service's top-level operation, selected as the primary one.
    const operation = page.locator('select[name="operation"]');
    await operation.waitFor();
    assert.equal(await operation.inputValue(), "http.request");
    assert.match(await operation.locator("option").first().innerText(), /http\.request \(\d+ hits?\) · primary/);
    const resource = page.locator('tr[data-resource="GET /checkout"]');
    await resource.waitFor();
    await resource.click();
    await until("the resource in the URL", async () => new URL(page.url()).searchParams.get("resource") === "GET /checkout");
    await page.locator("[data-resource-filter]").waitFor();
    await until("two charts", async () => (await page.locator(".charts .chart").count()) === 2);
    await page.screenshot({ path: join(shots, "apm-service.png") });
    await page.getByRole("link", { name: "View traces" }).click();
    await until("the explorer with the service query", async () => new URL(page.url()).searchParams.get("q") === "service:e2e-web");
  });

  await test("APM: the trace explorer finds the entry span, and a bad query shows its error", async () => {
    await page.goto(`${up.base}/apm/traces?q=service:e2e-web`);
    const row = page.locator(`tr[data-span-id="${ROOT_ID}"]`);
    await until("the root span in the list", async () => {
      if (await row.count()) return true;
      await page.reload();
      return false;
    }, 30_000, 1500);
    const text = await row.innerText();
    assert.match(text, /GET \/checkout/);
    assert.match(text, /http\.request/);
    assert.match(text, /50 ms/);
    assert.match(text, /500/);
    // Entry spans only: the web service's inner spans are not listed until the toggle is off.
    assert.equal(await page.locator('tr[data-span-id="7002"]').count(), 0);
    await page.locator('input[name="entry"]').uncheck();
    await until("entry=0 in the URL", async () => /entry=0/.test(page.url()));
    await page.locator('tr[data-span-id="7002"]').waitFor();
    await page.screenshot({ path: join(shots, "apm-explorer.png") });
    await page.locator('input[name="entry"]').check();

    const errorsBefore = consoleErrors.length;
    const box = page.getByRole("textbox", { name: "Search spans" });
    const error = await enterRejectedQuery(box, "service:e2e-web (");
    assert.ok((await row.count()) === 1, "the last good results stay");
    await page.screenshot({ path: join(shots, "apm-explorer-error.png") });
    await box.fill("service:e2e-web");
    await box.press("Enter");
    await error.waitFor({ state: "detached" });
    expectOnly400s(errorsBefore);
  });

  await test("APM: the trace view draws the flame graph, selects a span on click, and lists every span", async () => {
    await page.locator(`tr[data-span-id="${ROOT_ID}"] a`).first().click();
    await page.waitForURL(new RegExp(`/apm/trace/${TRACE_ID}`));
    const canvas = page.locator('canvas[aria-label="Flame graph"]');
    await canvas.waitFor();
    await until("the whole trace", async () => Number(await page.locator("[data-span-count]").getAttribute("data-span-count")) === 5, 20_000, 500);
    const inked = await canvas.evaluate((c) => {
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(inked > 5000, `the canvas has ${inked} painted pixels`);
    await page.screenshot({ path: join(shots, "apm-trace.png") });
    const panel = page.getByRole("complementary", { name: "Span details" });
    assert.equal(await panel.getAttribute("data-span-id"), ROOT_ID);
    // Click where the error span's bar is drawn, as a user does.
    const bar = page.locator(`.span-list button[data-span-id="${ERROR_SPAN_ID}"]`);
    const at = { x: Number(await bar.getAttribute("data-x")), y: Number(await bar.getAttribute("data-y")) };
    const cbox = await canvas.boundingBox();
    await page.mouse.move(cbox.x + at.x, cbox.y + at.y);
    await page.getByRole("tooltip").waitFor();
    assert.match(await page.getByRole("tooltip").innerText(), /e2e-payments[\s\S]*Charge[\s\S]*34 ms/);
    await page.mouse.click(cbox.x + at.x, cbox.y + at.y);
    await until("the error span selected", async () => (await panel.getAttribute("data-span-id")) === ERROR_SPAN_ID);
    assert.equal(new URL(page.url()).searchParams.get("span"), ERROR_SPAN_ID);
    await panel.locator("[data-error]").waitFor();
    assert.match(await panel.locator(".error-message").innerText(), /card declined: insufficient funds/);
    assert.match(await panel.locator(".error-type").innerText(), /PaymentDeclined/);
    assert.match(await panel.locator("pre.stack").innerText(), /payments\.py", line 42/);
    assert.match(await panel.locator('[data-kv="meta"]').innerText(), /error\.message/);
    // The click zoomed to the span: reset brings the whole trace back.
    const reset = page.getByRole("button", { name: "Reset zoom" });
    assert.ok(await reset.isEnabled(), "zoomed in");
    await page.screenshot({ path: join(shots, "apm-trace-flame.png") });
    await reset.click();
    assert.ok(await reset.isDisabled());

    const involved = page.locator(".services-involved");
    assert.match(await involved.locator('tr[data-service="e2e-web"]').innerText(), /e2e-web\s+3\s+0/);
    assert.match(await involved.locator('tr[data-service="e2e-payments"]').innerText(), /e2e-payments\s+2\s+1/);

    await page.getByRole("button", { name: "Waterfall" }).click();
    await until("every span in the waterfall", async () => (await page.locator(".wf-row").count()) === 5);
    const depths = await page.locator(".wf-row").evaluateAll((rs) => rs.map((r) => `${r.dataset.spanId}:${r.dataset.depth}`));
    assert.deepEqual(depths, [`${ROOT_ID}:0`, "7002:1", "7003:1", `${ERROR_SPAN_ID}:2`, "7005:3"]);
    await page.locator('.wf-row[data-span-id="7005"]').click();
    await until("the query span selected", async () => (await panel.getAttribute("data-span-id")) === "7005");
    await page.screenshot({ path: join(shots, "apm-trace-waterfall.png") });

    const processes = panel.locator(".processes-link");
    const host = (await processes.innerText()).replace(/^Processes on /, "");
    assert.ok(host.length > 0, "the span has a host");
    await processes.click();
    await page.waitForURL(/\/processes\?q=host/);
    await until("the processes search to show the host filter", async () => (await search.inputValue()).startsWith("host:"));
  });

  await test("Metrics: a DogStatsD count appears in the picker, found as you type", async () => {
    await sendStatsd(up.statsdPort, statsdLines());
    await openFromNav("Metrics", "/metrics");
    await page.locator('.metrics [data-empty], .metrics .chart').first().waitFor();
    const picker = page.getByRole("combobox", { name: "Metric" });
    const option = page.locator('.suggestions [role="option"][data-value="page.views"]');
    // The agent sends 10 s buckets once they close: ask again until the count is there.
    await until("page.views in the metric picker", async () => {
      await picker.fill("");
      await picker.fill("page.vi");
      return option.waitFor({ timeout: 1500 }).then(() => true, () => false);
    }, 45_000, 500);
    assert.match(await option.innerText(), /rate/);
    assert.equal(await picker.getAttribute("aria-expanded"), "true");
    await page.screenshot({ path: join(shots, "metrics-picker.png") });
    // The first match is highlighted: Enter picks it.
    await picker.press("Enter");
    await until("the metric in the URL", async () => new URL(page.url()).searchParams.get("metric") === "page.views");
    await untilValue(page.getByRole("textbox", { name: "Metric query" }), "avg:page.views{*}");
  });

  await test("Metrics: group by env draws a line per env, kept in the URL across a reload", async () => {
    await page.goto(`${up.base}/metrics?metric=page.views`);
    await page.locator("[data-metric-type]").waitFor();
    assert.equal(await page.locator("[data-metric-type]").getAttribute("data-metric-type"), "rate");
    await page.getByRole("button", { name: /^Group by/ }).click();
    await page.locator('input[name="by-env"]').check();
    await page.keyboard.press("Escape");
    await until("by=env in the URL", async () => new URL(page.url()).searchParams.get("by") === "env");
    const query = page.getByRole("textbox", { name: "Metric query" });
    await untilValue(query, "avg:page.views{*} by {env}");
    const legend = (await metricChart("avg:page.views{*} by {env}")).locator(".u-legend");
    await until("a legend entry per env", async () => /env:prod/.test(await legend.innerText()) && /env:staging/.test(await legend.innerText()), 20_000, 500);
    assert.equal(await page.locator("[data-series]").getAttribute("data-series"), "2");
    // A scope picked from the suggestions narrows it to one env.
    const scope = page.getByRole("combobox", { name: "Scope" });
    await scope.click();
    await scope.pressSequentially("prod", { delay: 20 });
    await page.locator('.suggestions [role="option"][data-value="env:prod"]').waitFor();
    await scope.press("ArrowDown");
    await scope.press("Enter");
    await until("the scope in the URL", async () => new URL(page.url()).searchParams.get("scope") === "env:prod");
    await untilValue(query, "avg:page.views{env:prod} by {env}");
    await until("one line", async () => (await page.locator("[data-series]").getAttribute("data-series")) === "1", 20_000, 500);
    // "as count" is offered for a rate, and is part of the query.
    await page.locator('input[name="as_count"]').check();
    await until("as_count in the URL", async () => new URL(page.url()).searchParams.get("as_count") === "1");
    await untilValue(query, "avg:page.views{env:prod} by {env}.as_count()");
    await metricChart("avg:page.views{env:prod} by {env}.as_count()");
    await page.screenshot({ path: join(shots, "metrics-chart.png") });
    const url = page.url();
    await page.reload();
    await metricChart("avg:page.views{env:prod} by {env}.as_count()");
    assert.equal(page.url(), url);
    assert.equal(await page.getByRole("combobox", { name: "Metric" }).inputValue(), "page.views");
    assert.equal(await page.getByRole("combobox", { name: "Scope" }).inputValue(), "env:prod");
    assert.equal(await query.inputValue(), "avg:page.views{env:prod} by {env}.as_count()");
    assert.match(await page.locator(".metrics .chart .u-legend").innerText(), /env:prod/);
    // Back goes to the view before "as count".
    await page.goBack();
    await untilValue(query, "avg:page.views{env:prod} by {env}");
  });

  await test("Metrics: a distribution picked with the arrow keys offers percentiles; a typed query fills the pickers", async () => {
    await page.goto(`${up.base}/metrics`);
    const picker = page.getByRole("combobox", { name: "Metric" });
    await until("both e2e metrics in the picker", async () => {
      await picker.fill("");
      await picker.fill("e2e.");
      await page.locator('.suggestions [role="option"]').first().waitFor({ timeout: 1500 });
      const values = await page.locator('.suggestions [role="option"]').evaluateAll((os) => os.map((o) => o.dataset.value));
      return values.includes("e2e.latency") && values.includes("e2e.temperature");
    }, 30_000, 500);
    const values = await page.locator('.suggestions [role="option"]').evaluateAll((os) => os.map((o) => o.dataset.value));
    // Down from the first to the second, up again, then Enter: the first (names are sorted).
    await picker.press("ArrowDown");
    assert.equal(await page.locator('.suggestions [aria-selected="true"]').getAttribute("data-value"), values[1]);
    await picker.press("ArrowUp");
    await picker.press("Enter");
    await until("e2e.latency picked", async () => new URL(page.url()).searchParams.get("metric") === "e2e.latency");
    await until("the distribution's aggregations", async () => (await page.locator('select[name="agg"] option').allInnerTexts()).includes("p95"));
    await page.locator('select[name="agg"]').selectOption("p95");
    await until("agg=p95 in the URL", async () => new URL(page.url()).searchParams.get("agg") === "p95");
    const p95 = await metricChart("p95:e2e.latency{*}");
    await until("the p95 series in the legend", async () => /e2e\.latency/.test(await p95.locator(".u-legend").innerText()));
    await page.screenshot({ path: join(shots, "metrics-distribution.png") });
    // Escape closes the list.
    await picker.click();
    await page.locator(".suggestions").waitFor();
    await picker.press("Escape");
    await page.locator(".suggestions").waitFor({ state: "detached" });
    await picker.press("Escape");
    // A simple typed query goes back into the pickers.
    const query = page.getByRole("textbox", { name: "Metric query" });
    await query.fill("max:e2e.temperature{env:prod} by {env}");
    await query.press("Enter");
    await until("the pickers to follow the query", async () => {
      const p = new URL(page.url()).searchParams;
      return p.get("metric") === "e2e.temperature" && p.get("agg") === "max" && p.get("scope") === "env:prod" && p.get("by") === "env" && !p.has("q");
    });
    await untilValue(picker, "e2e.temperature");
    // The chart appears first and its series a moment later: wait for the legend to name the group.
    const grouped = await metricChart("max:e2e.temperature{env:prod} by {env}");
    await until("the env:prod series in the legend", async () => /env:prod/.test(await grouped.locator(".u-legend").innerText()));
  });

  await test("Metrics: a query the server rejects is underlined where the problem is", async () => {
    await page.goto(`${up.base}/metrics?metric=e2e.temperature&agg=max&scope=env:prod&by=env`);
    await metricChart("max:e2e.temperature{env:prod} by {env}");
    const errorsBefore = consoleErrors.length;
    const query = page.getByRole("textbox", { name: "Metric query" });
    const error = await enterRejectedQuery(query, "avg:m{", ".query-row .search");
    assert.ok((await error.innerText()).length > 0);
    assert.equal(new URL(page.url()).searchParams.get("q"), "avg:m{");
    await page.locator("[data-custom-query]").waitFor();
    // The last good chart stays.
    assert.ok((await page.locator(".metrics .chart canvas").count()) > 0, "the last chart stays");
    await page.screenshot({ path: join(shots, "metrics-error.png") });
    await page.getByRole("button", { name: "Back to the pickers" }).click();
    await error.waitFor({ state: "detached" });
    await untilValue(query, "max:e2e.temperature{env:prod} by {env}");
    expectOnly400s(errorsBefore);
  });

  await test("Events: the DogStatsD event is listed with its alert type, and a tag click filters", async () => {
    await openFromNav("Events", "/events");
    const event = page.locator(".event", { hasText: EVENT_TITLE });
    // The page reloads itself every 10 s.
    await until("the event", () => event.count(), 40_000, 500);
    assert.equal(await event.first().getAttribute("data-alert-type"), "error");
    const marker = await event.first().locator(".marker").evaluate((m) => getComputedStyle(m).backgroundColor);
    assert.equal(marker, "rgb(198, 40, 40)", "an error event has a red marker");
    assert.match(await event.first().locator(".event-text").innerText(), /rolled out\s*\n?\s*to web-1/);
    await page.locator(".strip canvas").waitFor();
    await event.first().locator('button.tag[data-tag="service:web"]').click();
    await until("the tag filter in the URL", async () => new URL(page.url()).searchParams.get("tags") === "service:web");
    await untilValue(page.getByRole("textbox", { name: "Filter by tags" }), "service:web");
    await event.first().waitFor();
    await page.screenshot({ path: join(shots, "events.png") });
    const box = page.getByRole("textbox", { name: "Search events" });
    await box.fill("no-such-event-text");
    await box.press("Enter");
    await page.locator('[data-empty="events"]').waitFor();
    await page.screenshot({ path: join(shots, "events-empty.png") });
    await box.fill("deploy");
    await box.press("Enter");
    await event.first().waitFor();
    assert.match(page.url(), /q=deploy/);
  });

  await test("Service Checks: the failing check is CRITICAL, and the CRITICAL total filters", async () => {
    await openFromNav("Service Checks", "/checks");
    const row = page.locator('tr[data-check="e2e.app.up"]');
    // The page reloads itself every 10 s.
    await until("the check", () => row.count(), 40_000, 500);
    assert.equal(await row.first().getAttribute("data-status"), "critical");
    assert.equal(await row.first().locator(".status-badge").innerText(), "CRITICAL");
    assert.match(await row.first().innerText(), /down/);
    assert.ok(Number(await page.locator('[data-total="critical"] .value').innerText()) >= 1);
    await page.screenshot({ path: join(shots, "checks.png") });
    await page.locator('[data-total="critical"]').click();
    await until("status=critical in the URL", async () => new URL(page.url()).searchParams.get("status") === "critical");
    await row.first().waitFor();
    const statuses = () => page.locator("tr[data-check]").evaluateAll((rs) => rs.map((r) => r.dataset.status));
    await until("only CRITICAL checks", async () => (await statuses()).every((st) => st === "critical"), 5000, 100).catch(async (e) => {
      throw new Error(`${e.message}: ${(await statuses()).join(",")}`);
    });
    const box = page.getByRole("textbox", { name: "Search checks" });
    await box.fill("e2e.app");
    await box.press("Enter");
    await until("q in the URL", async () => new URL(page.url()).searchParams.get("q") === "e2e.app");
    await row.first().waitFor();
    await page.screenshot({ path: join(shots, "checks-critical.png") });
  });

  await test("Sign-in: a page asked for signed out goes to /login, signing in comes back to it, and signing out ends the session", async () => {
    await withFreshPage("sign-in", async (p, errors) => {
      const wanted = `/processes?q=${encodeURIComponent(marker)}`;
      await p.goto(up.base + wanted);
      await p.waitForURL((u) => u.pathname === "/login");
      assert.equal(new URL(p.url()).searchParams.get("next"), wanted);
      await p.screenshot({ path: join(shots, "login.png") });
      await submitSignIn(p, up.user.name, up.user.password);
      await p.waitForURL((u) => u.pathname === "/processes");
      assert.equal(new URL(p.url()).searchParams.get("q"), marker, "back on the page that asked, with its query");
      await p.locator(".table .tr[data-pid]", { hasText: marker }).first().waitFor({ timeout: 30_000 });
      const account = p.locator(".topbar .account");
      assert.equal(await account.getAttribute("data-user"), up.user.name);
      assert.match(await account.innerText(), new RegExp(`${up.user.name}[\\s\\S]*Admin[\\s\\S]*Sign out`));
      assert.equal(await p.locator("[data-set-password]").count(), 0, "a user with a password is not asked to set one");
      // Reads and writes go through the session: a saved view is made and deleted with its CSRF token.
      await p.locator(".views-button").click();
      await p.getByRole("textbox", { name: "View name" }).fill("signed-in view");
      await p.getByRole("button", { name: "Save", exact: true }).click();
      await p.locator('[data-view="signed-in view"]').waitFor();
      p.once("dialog", (d) => d.accept());
      await p.locator('[data-view="signed-in view"]').getByRole("button", { name: "Delete" }).click();
      await p.locator('[data-view="signed-in view"]').waitFor({ state: "detached" });
      await p.keyboard.press("Escape");
      await p.screenshot({ path: join(shots, "signed-in.png") });

      await account.getByRole("button", { name: "Sign out" }).click();
      await p.waitForURL((u) => u.pathname === "/login");
      await p.getByRole("button", { name: "Sign in", exact: true }).waitFor();
      assert.equal((await p.request.get(`${up.base}/api/ui/me`)).status(), 401, "the session cookie is gone");
      await p.goto(`${up.base}/processes`);
      await p.waitForURL((u) => u.pathname === "/login");
      assert.equal(new URL(p.url()).searchParams.get("next"), "/processes");
      await p.reload();
      await p.getByRole("button", { name: "Sign in", exact: true }).waitFor();
      assert.equal(new URL(p.url()).pathname, "/login");
      expectOnlyRefusals(errors);
    });
  });

  await test("Sign-in: a wrong password shows the server's error and stays on /login", async () => {
    await withFreshPage("wrong-password", async (p, errors) => {
      await p.goto(`${up.base}/login?next=%2Fhosts`);
      await submitSignIn(p, up.user.name, "not-the-password");
      const alert = p.getByRole("alert");
      await alert.waitFor();
      assert.equal(await alert.innerText(), "Invalid username or password");
      assert.equal(await alert.getAttribute("data-status"), "401");
      assert.equal(new URL(p.url()).pathname, "/login");
      assert.equal(await p.getByLabel("Password", { exact: true }).inputValue(), "", "the wrong password is cleared");
      await p.screenshot({ path: join(shots, "login-wrong-password.png") });
      // The right one then goes where the link said.
      await submitSignIn(p, up.user.name, up.user.password);
      await p.waitForURL((u) => u.pathname === "/hosts");
      await p.locator(`tr[data-host="${up.hostname}"]`).waitFor();
      expectOnlyRefusals(errors);
    });
  });

  await test("Sign-in: a Read Only user loads saved views but has no save, update, rename or delete controls", async () => {
    const made = await up.api("/api/ui/views", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ page: "processes", name: "shared view", state: { query: marker } }) });
    assert.equal(made.status, 201, await made.clone().text());
    const view = await made.json();
    const viewer = await up.addUser("viewer", "read_only", "viewer-password-1");
    try {
      await withFreshPage("read-only", async (p, errors) => {
        await p.goto(`${up.base}/login`);
        await submitSignIn(p, viewer.name, viewer.password);
        await p.waitForURL((u) => u.pathname === "/processes");
        const account = p.locator(".topbar .account");
        await account.waitFor();
        assert.equal(await account.getAttribute("data-role"), "read_only");
        assert.match(await account.innerText(), /viewer[\s\S]*Read Only/);
        await p.locator(".table .tr[data-pid]").first().waitFor({ timeout: 30_000 });
        await p.locator(".views-button").click();
        const row = p.locator('[data-view="shared view"]');
        await row.waitFor();
        assert.equal(await row.getByRole("button", { name: /^(Rename|Delete)$/ }).count(), 0, "no Rename or Delete");
        assert.equal(await p.getByRole("button", { name: /^Update/ }).count(), 0, "no Update");
        assert.equal(await p.getByRole("textbox", { name: "View name" }).count(), 0, "no name to save under");
        assert.equal(await p.getByRole("button", { name: "Save", exact: true }).count(), 0, "no Save");
        const why = p.locator("[data-views-readonly]");
        assert.match(await why.getAttribute("title"), /Read Only.*Standard/);
        await p.screenshot({ path: join(shots, "read-only-views.png") });
        // Loading still works.
        await row.locator(".name").click();
        await until("the view's query", async () => new URL(p.url()).searchParams.get("q") === marker);
        // And the server refuses the write the UI does not offer, CSRF token and all.
        const refused = await p.evaluate(async () => {
          const me = await (await fetch("/api/ui/me")).json();
          const r = await fetch("/api/ui/views", { method: "POST", headers: { "content-type": "application/json", "X-CSRF-Token": me.csrf_token }, body: JSON.stringify({ page: "processes", name: "x", state: {} }) });
          return { status: r.status, body: await r.json() };
        });
        assert.equal(refused.status, 403);
        assert.match(refused.body.errors[0], /Standard/);
        expectOnlyRefusals(errors);
      });
    } finally {
      await up.api(`/api/ui/views/${view.id}`, { method: "DELETE" });
    }
  });

  await test("Sign-in: the one-time link signs admin in and asks for a password, which then signs in", async () => {
    const password = "admin-password-42";
    await withFreshPage("one-time-link", async (p, errors) => {
      await p.goto(up.signInLink);
      await p.waitForURL((u) => u.pathname === "/processes");
      assert.equal(new URL(p.url()).searchParams.get("set-password"), null, "the hint leaves the URL");
      const banner = p.locator("[data-set-password]");
      await banner.waitFor();
      assert.equal(await p.locator(".topbar .account").getAttribute("data-user"), "admin");
      assert.match(await banner.innerText(), /admin has no password yet/);
      await p.screenshot({ path: join(shots, "set-password.png") });
      // Too short: said at once, nothing sent.
      await banner.getByLabel("New password", { exact: true }).fill("short");
      await banner.getByLabel("Repeat the new password").fill("short");
      await banner.getByRole("button", { name: "Set password" }).click();
      assert.match(await banner.getByRole("alert").innerText(), /at least 8 characters/);
      await banner.getByLabel("New password", { exact: true }).fill(password);
      await banner.getByLabel("Repeat the new password").fill(password);
      await banner.getByRole("button", { name: "Set password" }).click();
      await p.locator("[data-password-set]").waitFor();
      await banner.waitFor({ state: "detached" });
      const me = await (await p.request.get(`${up.base}/api/ui/me`)).json();
      assert.equal(me.has_password, true);
      await p.reload();
      await p.locator(".topbar .account").waitFor();
      assert.equal(await p.locator("[data-set-password]").count(), 0, "no banner once a password is set");
      await p.locator(".topbar .account").getByRole("button", { name: "Sign out" }).click();
      await p.waitForURL((u) => u.pathname === "/login");
      // The link worked once.
      const again = await p.request.get(up.signInLink, { maxRedirects: 0 });
      assert.equal(again.status(), 403);
      await p.goto(`${up.base}/login`);
      await submitSignIn(p, "admin", password);
      await p.waitForURL((u) => u.pathname === "/processes");
      assert.equal(await p.locator(".topbar .account").getAttribute("data-user"), "admin");
      await p.locator(".table .tr[data-pid]").first().waitFor({ timeout: 30_000 });
      assert.equal(await p.locator("[data-set-password]").count(), 0);
      expectOnlyRefusals(errors);
    });
  });

  await test("the page logged no errors", async () => {
    assert.deepEqual(consoleErrors, []);
  });
} finally {
  const failed = results.filter((r) => !r.ok).length;
  console.log(`e2e: ${results.length - failed} passed, ${failed} failed (screenshots in ${shots})`);
  await stopAll();
  process.exit(failed > 0 ? 1 : 0);
}
