// Browser tests of auto-detected integrations against real servers: a real redis-server (and a
// real PostgreSQL cluster in a temporary directory, run as `nobody`, when Debian's postgresql is
// installed) on free loopback ports, a real `dogwatch up` whose agent reads this machine's /proc,
// and Debian's chromium. The Integrations page lists them as Detected; the Live Processes Views
// menu's Redis preset scopes the page to redis-server; after conf.d files for them are added and
// dogwatch up restarts on the same data directory, they are Installed and the process side panel
// has an Integration metrics tab. Screenshots go to target/ui-artifacts/.
//
// Run: `node e2e/integrations.mjs` in web/ after `cargo build -p dogwatch` and `npm run build`;
// `node e2e/integrations.mjs --grep Views` runs only the tests whose name contains "Views" (the
// ones before it that set the stage still run, unnamed).

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureArtifacts, freePort, launchChromium, signIn, sleep, spawnTracked, startUp, stopAll, until } from "./harness.mjs";

const TEST_TIMEOUT_MS = 90_000;
const grep = process.argv.includes("--grep") ? process.argv[process.argv.indexOf("--grep") + 1] : null;
const results = [];
const shots = ensureArtifacts();
const started = Date.now();

/** Runs `fn` as a test named `name`; with --grep, a test whose name does not match still runs
 * when `setup` is true (later tests need what it did) but is not reported. */
async function test(name, fn, setup = false) {
  const picked = !grep || name.includes(grep);
  if (!picked && !setup) return;
  const t0 = Date.now();
  try {
    await Promise.race([fn(), sleep(TEST_TIMEOUT_MS).then(() => Promise.reject(new Error(`took over ${TEST_TIMEOUT_MS / 1000} s`)))]);
    if (picked) results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    await page?.screenshot({ path: join(shots, `FAILED-integrations-${name.replace(/\W+/g, "-")}.png`) }).catch(() => undefined);
  }
}

/** Resolves once 127.0.0.1:`port` accepts a connection and, when `probe` is given, answers
 * it with something matching `expect` (at most 20 s). */
function answers(port, probe = null, expect = /^/) {
  const once = () =>
    new Promise((ok) => {
      const s = connect(port, "127.0.0.1");
      let got = "";
      const done = (v) => {
        s.destroy();
        ok(v);
      };
      s.on("connect", () => (probe ? s.write(probe) : done(true)));
      s.on("data", (d) => {
        got += d;
        if (expect.test(got)) done(true);
      });
      s.on("error", () => done(false));
      setTimeout(() => done(false), 1000);
    });
  return until(`127.0.0.1:${port} to answer`, once, 20_000, 200);
}

/** Stops a process by pid with `signal` and waits (at most 10 s) for it to be gone. */
async function stopPid(pid, signal = "SIGTERM") {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  await until(`pid ${pid} to exit`, () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 10_000, 100);
}

// --- The servers under test ---------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), "dogwatch-integrations-"));
const redisPort = await freePort();
const redis = spawnTracked("/usr/bin/redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", work, "--daemonize", "no"]);
await answers(redisPort, "PING\r\n", /\+PONG/);

/** A PostgreSQL cluster in a temporary directory owned by `nobody` (postgres refuses root), or
 * null when Debian's postgresql is not installed. */
async function startPostgres() {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) : [];
  if (versions.length === 0) return null;
  const bin = `/usr/lib/postgresql/${versions.sort((a, b) => Number(b) - Number(a))[0]}/bin`;
  const dir = join(work, "pg");
  mkdirSync(dir, { mode: 0o700 });
  const asNobody = process.getuid?.() === 0;
  if (asNobody) {
    chownSync(work, 65534, 65534);
    chownSync(dir, 65534, 65534);
  }
  const run = (cmd, args) => (asNobody ? ["runuser", ["-u", "nobody", "--", cmd, ...args]] : [cmd, args]);
  const [initCmd, initArgs] = run(`${bin}/initdb`, ["-D", dir, "-A", "trust", "-U", "postgres", "--no-sync"]);
  execFileSync(initCmd, initArgs, { stdio: "ignore" });
  const port = await freePort();
  const [cmd, args] = run(`${bin}/postgres`, ["-D", dir, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]);
  spawnTracked(cmd, args);
  const pidFile = join(dir, "postmaster.pid");
  const pid = await until("postgres to write its pid file", () => existsSync(pidFile) && Number(readFileSync(pidFile, "utf8").split("\n")[0]), 20_000, 100);
  await answers(port);
  return { port, pid };
}
const pg = await startPostgres().catch((e) => {
  console.log(`note: PostgreSQL could not start (${e.message}); its parts are skipped`);
  return null;
});

const confd = join(work, "conf.d");
mkdirSync(confd);
const env = { DD_CONFD_PATH: confd };
let up = await startUp(env);
const browser = await launchChromium();
let context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
let page = await context.newPage();
const consoleErrors = [];
const watch = (p) => {
  p.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  p.on("pageerror", (e) => consoleErrors.push(String(e)));
};
watch(page);
await signIn(page, up.base, up.user);

/** The card of integration `id` on the Integrations page, once its badge says `status`. */
async function cardWithStatus(id, status, ms = 45_000) {
  await page.goto(`${up.base}/integrations`);
  const card = page.locator(`.integration-card[data-integration="${id}"]`);
  // The page reloads every 10 s; reload sooner while waiting for the agent's next run.
  await until(`${id} to be ${status}`, async () => {
    if ((await card.locator(`[data-integration-status="${status}"]`).count()) > 0) return true;
    await page.reload();
    await card.first().waitFor({ timeout: 5000 }).catch(() => undefined);
    return (await card.locator(`[data-integration-status="${status}"]`).count()) > 0;
  }, ms, 1000);
  return card;
}

try {
  await test("the Integrations page lists the running redis-server (and postgres) as Detected", async () => {
    await page.goto(`${up.base}/processes`);
    await page.locator(".topbar nav a", { hasText: "Integrations" }).click();
    await page.waitForURL((u) => u.pathname === "/integrations");
    const card = await cardWithStatus("redisdb", "detected");
    assert.equal(await card.locator(".integration-badge").innerText(), "Detected");
    assert.match(await card.innerText(), /running on 1 host/);
    if (pg) {
      const pgCard = await cardWithStatus("postgres", "detected");
      assert.equal(await pgCard.locator(".integration-badge").innerText(), "Detected");
    }
    await page.screenshot({ path: join(shots, "integrations-detected.png") });
  }, true);

  await test("the Hosts tab lists this host with its redis-server, its check not configured", async () => {
    await page.locator('.integration-card[data-integration="redisdb"] h3 a').click();
    await page.waitForURL((u) => u.pathname === "/integrations/redisdb");
    const row = page.locator(`.integration-hosts tr[data-host="${up.hostname}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-configured"), "0");
    assert.match(await row.innerText(), /not configured/);
    assert.equal((await row.locator("td.num").innerText()).trim(), "1");
    await page.screenshot({ path: join(shots, "integration-hosts.png") });
  });

  await test("the Views menu's Redis preset scopes Live Processes to redis-server", async () => {
    await page.goto(`${up.base}/processes`);
    await page.locator(".table .tr[data-pid]").first().waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: /^Views/ }).click();
    await page.locator('[data-views-menu] button[data-view="redisdb"]').click();
    await page.waitForURL((u) => u.searchParams.get("q") === "redis-server");
    await until("only redis-server in the table", async () => {
      const rows = await page.locator(".table .tr[data-pid]").evaluateAll((rs) => rs.map((r) => ({ pid: Number(r.dataset.pid), text: r.textContent })));
      return rows.length > 0 && rows.some((r) => r.pid === redis.pid) && rows.every((r) => r.text.includes("redis-server"));
    }, 20_000, 300);
    assert.equal(await page.getByRole("textbox", { name: "Search processes" }).inputValue(), "redis-server");
    assert.match(await page.getByRole("button", { name: /^Views/ }).innerText(), /Views: Redis/);
    await page.screenshot({ path: join(shots, "processes-view-redis.png") });
    // Back and forward keep the view, as any query in the URL.
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.get("q"));
    await page.goForward();
    await page.waitForURL((u) => u.searchParams.get("q") === "redis-server");
    // A reload (or a shared link) names the preset too.
    await page.reload();
    await until("the Views button to name the preset", async () => /Views: Redis/.test(await page.getByRole("button", { name: /^Views/ }).innerText()), 10_000, 200);
  });

  await test("after conf.d files are added and dogwatch up restarts, the integrations are Installed", async () => {
    mkdirSync(join(confd, "redisdb.d"));
    writeFileSync(join(confd, "redisdb.d", "conf.yaml"), `init_config:\ninstances:\n  - host: 127.0.0.1\n    port: ${redisPort}\n`);
    if (pg) {
      mkdirSync(join(confd, "postgres.d"));
      writeFileSync(join(confd, "postgres.d", "conf.yaml"), `init_config:\ninstances:\n  - host: 127.0.0.1\n    port: ${pg.port}\n    username: postgres\n    dbname: postgres\n`);
    }
    const { dataDir, user, child } = up;
    await stopPid(child.pid, "SIGTERM");
    up = await startUp(env, { dataDir, user });
    // A new port is a new origin: sign in to it.
    await context.close();
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    watch(page);
    await signIn(page, up.base, up.user);
    const card = await cardWithStatus("redisdb", "installed");
    assert.equal(await card.locator(".integration-badge").innerText(), "Installed");
    if (pg) await cardWithStatus("postgres", "installed");
    await page.screenshot({ path: join(shots, "integrations-installed.png") });
    const detail = await (await up.api("/api/ui/integrations/redisdb")).json();
    const host = detail.hosts.find((h) => h.hostname === up.hostname);
    assert.equal(host.configured, true);
    console.log(`     redisdb on ${up.hostname}: ${host.checks.map((c) => `${c.instance_id} ${c.status}${c.error ? ` (${c.error.slice(0, 80)})` : ""}`).join(", ")}`);
  }, true);

  await test("the side panel of the redis-server process has an Integration metrics tab", async () => {
    await page.goto(`${up.base}/processes?q=redis-server`);
    const row = page.locator(`.table .tr[data-pid="${redis.pid}"]`);
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    const tab = page.locator('.panel [data-tab="integration-metrics"]');
    await tab.waitFor({ timeout: 20_000 });
    await tab.click();
    const section = page.locator('.panel [data-integration-metrics="redisdb"]');
    await section.waitFor();
    await section.locator('.chart[data-chart="Process CPU (% of one core)"]').waitFor();
    await section.locator('.chart[data-chart="connected clients (redis.net.clients)"]').waitFor();
    // With the redisdb check built in, its points arrive; without it, the chart says none came.
    const checks = (await (await up.api("/api/ui/integrations/redisdb")).json()).hosts.find((h) => h.hostname === up.hostname).checks;
    if (checks.some((c) => c.instance_id !== "initialization")) {
      await section.locator('.chart[data-chart="connected clients (redis.net.clients)"] canvas').first().waitFor({ timeout: 45_000 });
    } else {
      console.log("     (no redisdb check in this build: the chart says no points came)");
    }
    await page.screenshot({ path: join(shots, "process-integration-metrics.png") });
    // A process of no configured integration (dogwatch itself) has no such tab.
    await page.goto(`${up.base}/processes?q=dogwatch`);
    await page.locator(".table .tr[data-pid]").first().click();
    await page.locator(".panel [data-field=cmdline]").waitFor();
    await sleep(1500);
    assert.equal(await page.locator('.panel [data-tab="integration-metrics"]').count(), 0);
  });

  await test("the pages logged no errors", async () => {
    assert.deepEqual(consoleErrors, []);
  });
} finally {
  const failed = results.filter((r) => !r.ok).length;
  console.log(`e2e: ${results.length - failed} passed, ${failed} failed (integrations, ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${shots})`);
  await stopPid(redis.pid, "SIGTERM").catch(() => undefined);
  if (pg) await stopPid(pg.pid, "SIGINT").catch(() => undefined);
  await stopAll();
  rmSync(work, { recursive: true, force: true });
  process.exit(failed > 0 ? 1 : 0);
}
