// End-to-end tests of the web UI: a real `dogwatch up` (whose agent reads this machine's /proc)
// and Debian's chromium. Each test saves a screenshot to target/ui-artifacts/.
// Run: `npm run e2e` in web/ after `cargo build -p dogwatch` and `npm run build`.

import assert from "node:assert/strict";
import { userInfo } from "node:os";
import { join } from "node:path";
import { ensureArtifacts, launchChromium, sendSyntheticRun, sleep, spawnTracked, startUp, stopAll, until } from "./harness.mjs";

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

const total = async () => Number(await page.locator(".subbar .count").getAttribute("data-total"));
const search = page.getByRole("textbox", { name: "Search processes" });
async function setQuery(q) {
  await search.fill(q);
  await search.press("Enter");
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
    const logged = consoleErrors.splice(errorsBefore);
    assert.ok(logged.every((e) => /status of 400/.test(e)), logged.join("\n"));
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
    const listed = await (await fetch(`${up.base}/api/ui/views?page=processes`)).json();
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
    await row.getByRole("link", { name: up.hostname }).click();
    await page.waitForURL(/\/processes\?q=host/);
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
