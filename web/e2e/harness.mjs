// What the browser tests share: a real `dogwatch up` on a free loopback port with its own data
// directory, signed into as the server asks (an application key for the tests' own API calls, a
// user with a password for the browser), Debian's chromium driven by playwright-core, and
// synthetic hosts for load. Everything started here is stopped by `stopAll()`, and by the exit
// handler as a last resort.

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

/** Runs `dogwatch ARGS --data-dir DIR` (the CLI that manages users and keys) with `input` on
 * stdin; resolves to its stdout, trimmed; rejects when it exits non-zero. */
export function runCli(dataDir, args, input = "") {
  return new Promise((ok, fail) => {
    const child = spawn(dogwatchBin(), [...args, "--data-dir", dataDir], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? ok(out.trim()) : fail(new Error(`dogwatch ${args.join(" ")} exited ${code}: ${err || out}`))));
    child.stdin.end(input);
  });
}

/** The session cookie of a sign-in answer (`dogwatch_session=…`). */
function sessionCookie(response) {
  const set = response.headers.getSetCookie?.() ?? [response.headers.get("set-cookie") ?? ""];
  const cookie = set.map((c) => c.split(";")[0]).find((c) => c.startsWith("dogwatch_session="));
  if (!cookie) throw new Error(`no session cookie in the sign-in answer: ${JSON.stringify(set)}`);
  return cookie;
}

/** Signs in through the API (POST /api/ui/login) as a browser would; returns the cookie and CSRF token. */
export async function apiSignIn(base, user) {
  const r = await fetch(`${base}/api/ui/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: user.name, password: user.password }) });
  if (!r.ok) throw new Error(`signing in as ${user.name} answered ${r.status}: ${await r.text()}`);
  const { csrf_token } = await r.json();
  return { cookie: sessionCookie(r), csrf: csrf_token };
}

/** Signs `page` in as `user` ({name, password}) through the real sign-in page, as a user does;
 * resolves once the UI has left /login. */
export async function signIn(page, base, user) {
  await page.goto(`${base}/login`);
  await page.getByRole("textbox", { name: "Username" }).fill(user.name);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((u) => u.pathname !== "/login");
}

/** Starts `dogwatch up` with its agent collecting processes every 2 s, and signs in to it: an
 * application key of its `admin` for the tests' own API calls (`headers`, `api()`), and a user
 * `e2e` (Admin) with a password for the browser (`user`, see `signIn`). Returns its base URL,
 * API key, the port of its trace receiver (`apmPort`, where tracers send `/v0.4/traces`), the
 * UDP port of its DogStatsD listener (`statsdPort`), whose aggregates it flushes every second,
 * and the one-time sign-in link it printed for `admin` (`signInLink`, unused: a test uses it).
 * `again` ({dataDir, user} of an earlier, stopped start) restarts on that data directory with
 * its users: no link is printed then, and `user` is the one made before. */
export async function startUp(extraEnv = {}, again = null) {
  const port = await freePort();
  const cmdPort = await freePort();
  const apmPort = await freePort();
  const statsdPort = await freeUdpPort();
  const dataDir = again?.dataDir ?? mkdtempSync(join(tmpdir(), "dogwatch-ui-"));
  if (!again) cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
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
  // Until signed in every read answers 401: wait for the server, and for the link it prints.
  const signInLink = await until("dogwatch up to answer and print its sign-in link", async () => {
    if (child.exitCode != null) throw new Error(`dogwatch up exited (${child.exitCode}): ${output}`);
    if ((await fetch(`${base}/api/v1/validate`)).status >= 500) return null;
    if (again) return "(restarted: no link)";
    return output.match(/Sign in:\s+(http:\/\/\S+\/login\/[0-9a-f]+)/)?.[1] ?? null;
  });
  const appKey = await runCli(dataDir, ["app-key", "create", "--name", "ui-e2e"]);
  if (!/^[0-9a-f]{40}$/.test(appKey)) throw new Error(`dogwatch app-key create printed ${JSON.stringify(appKey)}`);
  const headers = { "DD-API-KEY": apiKey, "DD-APPLICATION-KEY": appKey };
  /** A request to the server's API with the application key; `init` as fetch's. */
  const api = (path, init = {}) => fetch(base + path, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
  // A running server sees keys made by the CLI within 5 s.
  await until("the application key to be accepted", async () => (await api("/api/ui/hosts")).ok, 15_000, 250);

  /** Adds a user through the CLI (`dogwatch user add NAME --role ROLE --password-stdin`) and
   * waits until the running server lets it sign in and use its session. */
  const addUser = async (name, role, password) => {
    await runCli(dataDir, ["user", "add", name, "--role", role, "--password-stdin"], password + "\n");
    const user = { name, password, role };
    const session = await apiSignIn(base, user);
    await until(`the server to know the user ${name}`, async () => (await fetch(`${base}/api/ui/me`, { headers: { cookie: session.cookie } })).ok, 15_000, 250);
    await fetch(`${base}/api/ui/logout`, { method: "POST", headers: { cookie: session.cookie } });
    return user;
  };
  const user = again?.user ?? (await addUser("e2e", "admin", "e2e-password-0123"));
  return { base, apiKey, appKey, headers, api, addUser, user, signInLink, dataDir, hostname, apmPort, statsdPort, child, output: () => output };
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
