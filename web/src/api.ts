// The server's `/api/ui/` routes (docs/api.md), typed. Every process route also renews the
// real-time watch, so the page's refreshes are what keep agents collecting every 2 s.
// Every request goes through `request`, which sends the session's CSRF token on calls that are
// not GETs and sends the browser to the sign-in page when the server says it is signed out.

import { isSignInNeeded, type Me, requestHeaders, type SessionUser, signInNeededNow } from "./auth";

/** Where a query went wrong, in characters from 0 (docs/api.md#errors). */
export interface QueryError {
  parameter: string;
  message: string;
  position: number;
  length: number;
}

/** A request the server refused or could not answer. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly queryError: QueryError | null = null,
    /** The server's `errors` (Datadog's error shape), empty when it sent none. */
    readonly errors: string[] = [],
  ) {
    super(message);
  }
}

export interface StaleHost {
  hostname: string;
  last_received_ms: number;
}

/** What every live process answer carries besides its own fields. */
export interface LiveAnswer {
  hosts: number;
  stale_hosts: StaleHost[];
  collected_at_ms: number | null;
  watching_until_ms: number;
  total: number;
}

export type Row = Record<string, unknown> & { host: string; pid: number; start: number };

export interface ListAnswer extends LiveAnswer {
  processes: Row[];
  offset: number;
  limit: number;
}

export interface Facet {
  key: string;
  values: Array<{ value: string; count: number }>;
  other_values: number;
  missing: number;
}

export interface FacetsAnswer extends LiveAnswer {
  facets: Facet[];
}

export interface Aggregates {
  sum: number;
  avg: number;
  max: number;
  min: number;
  readable: number;
}

export interface Group {
  tags: Record<string, string | null>;
  count: number;
  hosts: number;
  metrics: Record<string, Aggregates>;
}

export interface GroupsAnswer extends LiveAnswer {
  groups: Group[];
  total_groups: number;
}

export interface ScatterPoint {
  group: Record<string, string | number | null>;
  x: number;
  y: number;
  count: number;
}

export interface ScatterAnswer extends LiveAnswer {
  points: ScatterPoint[];
  total_points: number;
  by: string[];
}

export interface Relative {
  pid: number;
  ppid: number;
  user: string;
  name: string;
  command: string;
  create_time_ms: number;
  cpu_total_pct: number;
  rss: number;
}

export interface Sample {
  ts_ms: number;
  cpu_total_pct: number;
  cpu_user_pct: number;
  cpu_system_pct: number;
  rss: number;
  vms: number;
  threads: number;
  open_fds: number;
  io_read_bytes_rate: number;
  io_write_bytes_rate: number;
  io_read_ops_rate: number;
  io_write_ops_rate: number;
}

export interface DetailAnswer {
  live: boolean;
  collected_at_ms: number | null;
  first_seen_ms: number | null;
  last_seen_ms: number | null;
  process: Record<string, unknown> & {
    host: string;
    pid: number;
    ppid: number;
    command: string;
    cmdline: string[];
    exe: string;
    cwd: string;
    user: string;
    name: string;
    state: string;
    create_time_ms: number;
    tags: string[];
    container_id?: string;
  };
  parent: Relative | null;
  children: Relative[];
  history: { from_ms: number; to_ms: number; samples: Sample[] };
}

export interface HostSummary {
  processes: number;
  cpu_total_pct: number;
  rss_total: number;
  collected_at_ms: number;
  stale: boolean;
  realtime: boolean;
  cpu_count: number;
  memory_total: number;
  agent_version: string;
  os: string;
}

/** The last run of one of the agent's checks on a host, as its agent reported it. */
export interface HostCheck {
  check: string;
  instance_id: string;
  status: "OK" | "WARNING" | "ERROR";
  /** Why the run failed; empty when it did not. */
  error: string;
}

export interface Host {
  hostname: string;
  agent_version: string;
  os: string;
  tags: string[];
  first_seen_ms: number;
  last_seen_ms: number;
  stale: boolean;
  processes: HostSummary | null;
  /** The agent's checks; absent (or null) for agents that do not report them. */
  checks?: HostCheck[] | null;
}

export interface SavedView {
  id: number;
  page: string;
  name: string;
  state: Record<string, unknown>;
  created_ms: number;
  updated_ms: number;
}

export type Params = Record<string, string | number | undefined | null>;

function url(path: string, params: Params = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v != null && v !== "") p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

export interface CallOptions {
  params?: Params;
  body?: unknown;
  signal?: AbortSignal;
  /** Whether a 401 sends the browser to the sign-in page (not for signing in itself). Default true. */
  signIn?: boolean;
}

/** One call to the server: JSON in and out; an `ApiError` for any answer but 2xx. */
export async function request<T>(method: string, path: string, init: CallOptions = {}): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url(path, init.params), {
      method,
      signal: init.signal,
      credentials: "same-origin",
      headers: requestHeaders(method, init.body === undefined ? {} : { "content-type": "application/json" }),
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError("cannot reach the dogwatch server; is it running?", 0);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: reported below with the status.
  }
  if (!response.ok) {
    const b = (body ?? {}) as { errors?: string[]; query_error?: QueryError };
    const message = b.errors?.join("; ") || `${method} ${path} failed: HTTP ${response.status}`;
    if (init.signIn !== false && isSignInNeeded(response.status, message)) signInNeededNow();
    throw new ApiError(message, response.status, b.query_error ?? null, Array.isArray(b.errors) ? b.errors : []);
  }
  return body as T;
}

/** A GET of `path` with `params` (empty ones left out). */
export const get = <T>(path: string, params: Params, signal?: AbortSignal) => request<T>("GET", path, { params, signal });

export const api = {
  processes: (p: { query: string; sort: string; order: string; columns: string[]; offset: number; limit: number }, signal?: AbortSignal) =>
    get<ListAnswer>("/api/ui/processes", { ...p, columns: p.columns.join(",") }, signal),
  facets: (query: string, limit: number, signal?: AbortSignal) => get<FacetsAnswer>("/api/ui/processes/facets", { query, limit }, signal),
  groups: (p: { query: string; by: string[]; metrics: string[]; sort: string; limit: number }, signal?: AbortSignal) =>
    get<GroupsAnswer>("/api/ui/processes/groups", { ...p, by: p.by.join(","), metrics: p.metrics.join(",") }, signal),
  scatter: (p: { query: string; x: string; y: string; agg: string; by: string; limit: number }, signal?: AbortSignal) =>
    get<ScatterAnswer>("/api/ui/processes/scatter", p, signal),
  detail: (p: { host: string; pid: number; start: number; from: number; to: number; points: number }, signal?: AbortSignal) =>
    get<DetailAnswer>("/api/ui/processes/detail", p, signal),
  hosts: (signal?: AbortSignal) => get<{ hosts: Host[] }>("/api/ui/hosts", {}, signal),
  views: (page: string) => get<{ views: SavedView[] }>("/api/ui/views", { page }),
  createView: (page: string, name: string, state: object) =>
    request<SavedView>("POST", "/api/ui/views", { body: { page, name, state } }),
  updateView: (id: number, change: { name?: string; state?: object }) =>
    request<SavedView>("PUT", `/api/ui/views/${id}`, { body: change }),
  deleteView: (id: number) => request<void>("DELETE", `/api/ui/views/${id}`),
  /** The signed-in user; a 401 (signed out) sends the browser to the sign-in page. */
  me: () => request<Me>("GET", "/api/ui/me"),
  /** Signs in; a wrong name or password is an `ApiError` with status 401 (429 past the attempt limit). */
  login: (username: string, password: string) =>
    request<{ user: SessionUser; csrf_token: string }>("POST", "/api/ui/login", { body: { username, password }, signIn: false }),
  logout: () => request<void>("POST", "/api/ui/logout", { signIn: false }),
  /** Sets the signed-in user's password; `current` may be left out while the user has none. */
  setPassword: (newPassword: string, current?: string) =>
    request<void>("PUT", "/api/ui/me/password", { body: current === undefined ? { new_password: newPassword } : { current_password: current, new_password: newPassword }, signIn: false }),
};
