// What the browser tests share: a real `dogwatch up` on a free loopback port with its own data
// directory, Debian's chromium driven by playwright-core, and synthetic hosts for load.
// Everything started here is stopped by `stopAll()`, and by the exit handler as a last resort.

import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../..");
/** Where screenshots go (a test artifact; not committed). */
export const artifacts = resolve(repo, "target/ui-artifacts");

const children = new Set();
const cleanups = [];
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

/** A UDP port free on loopback (for DogStatsD). */
export function freeUdpPort() {
  return new Promise((ok, fail) => {
    const s = createSocket("udp4");
    s.on("error", fail);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Sends DogStatsD datagrams (`page.views:1|c|#env:prod`, `_e{5,4}:title|text`, `_sc|app.up|2`)
 * to 127.0.0.1:`port`, one datagram each. */
export async function sendStatsd(port, lines) {
  const s = createSocket("udp4");
  try {
    for (const line of lines) {
      await new Promise((ok, fail) => s.send(Buffer.from(line), port, "127.0.0.1", (e) => (e ? fail(e) : ok())));
    }
  } finally {
    s.close();
  }
}

/** Spawns a child that is killed when the tests end. */
export function spawnTracked(cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value, at most `ms`; throws `what` on timeout. */
export async function until(what, check, ms = 30_000, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(every);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/** The dogwatch binary to test: $DOGWATCH_BIN, else the debug build. */
export function dogwatchBin() {
  const bin = process.env.DOGWATCH_BIN ?? join(repo, "target/debug/dogwatch");
  if (!existsSync(bin)) throw new Error(`no dogwatch binary at ${bin}: run \`cargo build -p dogwatch\` first (or set DOGWATCH_BIN)`);
  return bin;
}

/** Starts `dogwatch up` with its agent collecting processes every 2 s. Returns its base URL, API
 * key, the port of its trace receiver (`apmPort`, where tracers send `/v0.4/traces`) and the
 * UDP port of its DogStatsD listener (`statsdPort`), whose aggregates it flushes every second. */
export async function startUp(extraEnv = {}) {
  const port = await freePort();
  const cmdPort = await freePort();
  const apmPort = await freePort();
  const statsdPort = await freeUdpPort();
  const dataDir = mkdtempSync(join(tmpdir(), "dogwatch-ui-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const apiKey = "ui-e2e-key-0123456789abcdef";
  const hostname = "ui-e2e-host";
  const child = spawnTracked(dogwatchBin(), ["up", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    env: {
      ...process.env,
      DD_API_KEY: apiKey,
      DD_CMD_PORT: String(cmdPort),
      DD_APM_RECEIVER_PORT: String(apmPort),
      DD_DOGSTATSD_PORT: String(statsdPort),
      DD_DOGSTATSD_FLUSH_INTERVAL_MS: "1000",
      DD_HOSTNAME: hostname,
      DD_TAGS: "team:ui,role:e2e",
      DD_PROCESS_CONFIG_INTERVALS_PROCESS: "2",
      ...extraEnv,
    },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  await until("dogwatch up to answer", async () => {
    if (child.exitCode != null) throw new Error(`dogwatch up exited (${child.exitCode}): ${output}`);
    return (await fetch(`${base}/api/ui/hosts`)).ok;
  });
  return { base, apiKey, hostname, apmPort, statsdPort, child, output: () => output };
}

/** Debian's chromium under playwright-core; never a downloaded browser. */
export async function launchChromium() {
  const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(`no chromium at ${executablePath}: install Debian's (apt-get install chromium) or set CHROMIUM`);
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  cleanups.push(() => browser.close().catch(() => undefined));
  return browser;
}

/** A synthetic process record like an agent sends. */
export function syntheticProcess(i, host) {
  const commands = ["java", "python3", "nginx", "postgres", "node", "redis-server", "sidekiq", "gunicorn", "envoy", "kafka"];
  const users = ["app", "www-data", "postgres", "root", "deploy"];
  const name = commands[i % commands.length];
  return {
    pid: 1000 + i,
    ppid: i % 50 === 0 ? 1 : 1000 + (i - (i % 50)),
    pgroup: 1000 + i,
    user: users[i % users.length],
    uid: 1000,
    gid: 1000,
    name,
    cmdline: [`/usr/bin/${name}`, `--worker=${i}`, `--config=/etc/${name}/${host}.conf`, "--password=********"],
    exe: `/usr/bin/${name}`,
    cwd: `/srv/${name}`,
    state: i % 7 === 0 ? "R" : "S",
    create_time_ms: 1_700_000_000_000 + i * 1000,
    cpu_user_pct: (i % 37) * 0.6,
    cpu_system_pct: (i % 11) * 0.2,
    cpu_total_pct: (i % 37) * 0.6 + (i % 11) * 0.2,
    rss: ((i % 97) + 1) * 3 * 1024 * 1024,
    vms: ((i % 97) + 1) * 12 * 1024 * 1024,
    swap: 0,
    threads: (i % 16) + 1,
    open_fds: (i % 40) + 3,
    io_read_ops_rate: i % 5,
    io_write_ops_rate: i % 3,
    io_read_bytes_rate: (i % 5) * 4096,
    io_write_bytes_rate: (i % 3) * 8192,
    ctx_switches_voluntary: i * 10,
    ctx_switches_involuntary: i,
    nice: 0,
    container_id: i % 3 === 0 ? `${(i % 40).toString(16).padStart(2, "0")}`.repeat(32) : undefined,
    tags: [`user:${users[i % users.length]}`, `command:${name}`, `service:${name}-svc`, `env:${i % 2 ? "prod" : "staging"}`],
  };
}

/** Sends one complete process run for a synthetic host, in chunks of 100 as an agent does. */
export async function sendSyntheticRun(base, apiKey, host, count, runId) {
  const processes = Array.from({ length: count }, (_, i) => syntheticProcess(i, host));
  const chunks = Math.ceil(count / 100);
  const info = { hostname: host, cpu_count: 8, cpu_model: "synthetic", memory_total: 32 * 1024 ** 3, kernel: "6.1", os: "Debian 12", boot_time: 1_700_000_000, agent_version: "synthetic", tags: ["synthetic:true"] };
  for (let c = 0; c < chunks; c++) {
    const body = {
      host: info,
      run_id: runId,
      chunk_count: chunks,
      chunk_index: c,
      collected_at_ms: Date.now(),
      interval_s: 10,
      realtime: false,
      total_processes: count,
      processes: processes.slice(c * 100, (c + 1) * 100),
    };
    const r = await fetch(`${base}/api/v1/collector`, { method: "POST", headers: { "content-type": "application/json", "DD-API-KEY": apiKey }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`collector answered ${r.status}: ${await r.text()}`);
  }
}

export function ensureArtifacts() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}

/** Stops everything this run started. */
export async function stopAll() {
  for (const c of children) c.kill("SIGTERM");
  for (const f of cleanups.reverse()) await f();
  await sleep(200);
  for (const c of children) c.kill("SIGKILL");
}
