// The APM pages' paths and state, kept in the URL so a link reproduces the view. As for the
// Live Processes page (url-state.ts), only values that differ from the defaults are written.

import { quoteValue, tagTerm } from "./query-edit";

/** A time range a page offers: its name in the URL and on its button, and its length. */
export interface RangeOption {
  name: string;
  ms: number;
}

/** The time ranges the APM pages offer, shortest first. */
export const APM_RANGES: RangeOption[] = [
  { name: "15m", ms: 15 * 60_000 },
  { name: "1h", ms: 3_600_000 },
  { name: "4h", ms: 4 * 3_600_000 },
  { name: "1d", ms: 86_400_000 },
  { name: "2d", ms: 2 * 86_400_000 },
  { name: "7d", ms: 7 * 86_400_000 },
];

export const DEFAULT_APM_RANGE = "1h";

/** The length of a range named in the URL, in ms (the default range's for an unknown name). */
export function rangeMs(name: string, ranges: readonly RangeOption[] = APM_RANGES, fallback = DEFAULT_APM_RANGE): number {
  return (ranges.find((r) => r.name === name) ?? ranges.find((r) => r.name === fallback)!).ms;
}

/** The range named by the URL's `range` parameter, or `fallback` when it names none of `ranges`. */
export function parseRange(p: URLSearchParams, ranges: readonly RangeOption[] = APM_RANGES, fallback = DEFAULT_APM_RANGE): string {
  const r = p.get("range");
  return ranges.some((x) => x.name === r) ? r! : fallback;
}

/** Which page a path shows. Services and trace ids are URL-encoded path segments. */
export type Route =
  | { page: "processes" }
  | { page: "hosts" }
  | { page: "host"; hostname: string }
  | { page: "apm-services" }
  | { page: "apm-service"; service: string }
  | { page: "apm-traces" }
  | { page: "apm-trace"; traceId: string }
  | { page: "metrics" }
  | { page: "events" }
  | { page: "checks" }
  | { page: "integrations" }
  | { page: "integration"; id: string };

function segment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The page at `path`; anything unknown is the Live Processes page. A host's page is
 * `/hosts/<hostname>` (URL-encoded). */
export function matchRoute(path: string): Route {
  const p = path.replace(/\/+$/, "");
  if (p === "/hosts") return { page: "hosts" };
  if (p.startsWith("/hosts/") && p.length > "/hosts/".length) return { page: "host", hostname: segment(p.slice("/hosts/".length)) };
  if (p === "/metrics") return { page: "metrics" };
  if (p === "/events") return { page: "events" };
  if (p === "/checks") return { page: "checks" };
  if (p === "/integrations") return { page: "integrations" };
  if (p.startsWith("/integrations/") && p.length > "/integrations/".length) return { page: "integration", id: segment(p.slice("/integrations/".length)) };
  if (p === "/apm" || p === "/apm/services") return { page: "apm-services" };
  if (p.startsWith("/apm/services/") && p.length > "/apm/services/".length) return { page: "apm-service", service: segment(p.slice("/apm/services/".length)) };
  if (p === "/apm/traces") return { page: "apm-traces" };
  if (p.startsWith("/apm/trace/") && p.length > "/apm/trace/".length) return { page: "apm-trace", traceId: segment(p.slice("/apm/trace/".length)) };
  return { page: "processes" };
}

type Params = Record<string, string | null | undefined>;

/** `path` with the non-empty `params` as its search string. */
export function withSearch(path: string, params: Params): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== "") p.set(k, v);
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

const rangeParam = (range: string) => (range === DEFAULT_APM_RANGE ? null : range);
const parseOrder = (p: URLSearchParams, fallback: "asc" | "desc"): "asc" | "desc" => {
  const o = p.get("order");
  return o === "asc" || o === "desc" ? o : fallback;
};

/** The Services list: range, env filter, sort, and whether integration services are grouped
 * under their base service (`group=base`). */
export interface ServicesView {
  range: string;
  env: string;
  sort: string;
  order: "asc" | "desc";
  groupByBase: boolean;
}

export const SERVICE_COLUMNS = ["service", "env", "type", "hits", "hits_per_s", "errors", "error_rate", "avg", "p50", "p95", "p99", "operation"] as const;
export const DEFAULT_SERVICES_VIEW: ServicesView = { range: DEFAULT_APM_RANGE, env: "", sort: "hits", order: "desc", groupByBase: false };

export function parseServicesView(search: string): ServicesView {
  const p = new URLSearchParams(search);
  const d = DEFAULT_SERVICES_VIEW;
  const sort = p.get("sort");
  return {
    range: parseRange(p),
    env: p.get("env") ?? d.env,
    sort: sort && (SERVICE_COLUMNS as readonly string[]).includes(sort) ? sort : d.sort,
    order: parseOrder(p, d.order),
    groupByBase: p.get("group") === "base",
  };
}

export function servicesPath(view: Omit<ServicesView, "groupByBase"> & { groupByBase?: boolean }): string {
  const d = DEFAULT_SERVICES_VIEW;
  return withSearch("/apm/services", {
    range: rangeParam(view.range),
    env: view.env,
    sort: view.sort === d.sort ? null : view.sort,
    order: view.order === d.order ? null : view.order,
    group: view.groupByBase ? "base" : null,
  });
}

/** A row of the services list as grouped: a service, and how deep it is indented (1 for an
 * integration service under its base service). */
export interface GroupedRow<T> {
  row: T;
  depth: 0 | 1;
}

/** Integration services (whose `base_service` is another listed service, as tracers mark
 * `requests` or `sqlite` spans of the `notes` app) right under their base service, as
 * Datadog's inferred-services view groups them; the rest keep the order of `rows`. A child
 * goes under its base service's row of the same env, else the first row of that service; one
 * whose base service is not listed stays at the top level. */
export function groupByBaseService<T extends { service: string; env: string; base_service?: string | null }>(rows: readonly T[]): Array<GroupedRow<T>> {
  const parentOf = (r: T): T | undefined => {
    const base = r.base_service;
    if (!base || base === r.service) return undefined;
    return rows.find((p) => p.service === base && p.env === r.env && !p.base_service) ?? rows.find((p) => p.service === base && !p.base_service);
  };
  const children = new Map<T, T[]>();
  const top: T[] = [];
  for (const r of rows) {
    const parent = parentOf(r);
    if (parent) children.set(parent, [...(children.get(parent) ?? []), r]);
    else top.push(r);
  }
  return top.flatMap((r) => [{ row: r, depth: 0 as const }, ...(children.get(r) ?? []).map((c) => ({ row: c, depth: 1 as const }))]);
}

/** One service's page: range, env, the operation it reports (null: the primary one), the
 * resource its charts are filtered to, the resource table's sort. */
export interface ServiceView {
  service: string;
  range: string;
  env: string;
  operation: string | null;
  resource: string | null;
  sort: string;
  order: "asc" | "desc";
}

export const RESOURCE_COLUMNS = ["resource", "name", "hits", "errors", "error_rate", "avg", "p50", "p95", "p99", "total_duration"] as const;

export function parseServiceView(service: string, search: string): ServiceView {
  const p = new URLSearchParams(search);
  const sort = p.get("sort");
  return {
    service,
    range: parseRange(p),
    env: p.get("env") ?? "",
    operation: p.get("operation") || null,
    resource: p.get("resource"),
    sort: sort && (RESOURCE_COLUMNS as readonly string[]).includes(sort) ? sort : "total_duration",
    order: parseOrder(p, "desc"),
  };
}

export function servicePath(view: Pick<ServiceView, "service"> & Partial<ServiceView>): string {
  return withSearch(`/apm/services/${encodeURIComponent(view.service)}`, {
    range: view.range ? rangeParam(view.range) : null,
    env: view.env,
    operation: view.operation,
    resource: view.resource,
    sort: view.sort && view.sort !== "total_duration" ? view.sort : null,
    order: view.order === "asc" ? "asc" : null,
  });
}

/** The trace explorer: query, range, and whether only service entry spans are listed. */
export interface ExplorerView {
  query: string;
  range: string;
  entry: boolean;
}

export const DEFAULT_EXPLORER_VIEW: ExplorerView = { query: "", range: DEFAULT_APM_RANGE, entry: true };

export function parseExplorerView(search: string): ExplorerView {
  const p = new URLSearchParams(search);
  return { query: p.get("q") ?? "", range: parseRange(p), entry: p.get("entry") !== "0" };
}

export function explorerPath(view: Partial<ExplorerView>): string {
  return withSearch("/apm/traces", {
    q: view.query,
    range: view.range ? rangeParam(view.range) : null,
    entry: view.entry === false ? "0" : null,
  });
}

/** The trace view: the selected span (the root by default) and the tab. */
export interface TraceView {
  traceId: string;
  span: string | null;
  tab: "flame" | "waterfall";
}

export function parseTraceView(traceId: string, search: string): TraceView {
  const p = new URLSearchParams(search);
  return { traceId, span: p.get("span"), tab: p.get("tab") === "waterfall" ? "waterfall" : "flame" };
}

export function tracePath(view: Pick<TraceView, "traceId"> & Partial<TraceView>): string {
  return withSearch(`/apm/trace/${encodeURIComponent(view.traceId)}`, {
    span: view.span,
    tab: view.tab === "waterfall" ? "waterfall" : null,
  });
}

/** The explorer query for a service's spans, or for one of its resources (of one operation
 * when given). */
export function serviceQuery(service: string, resource?: string | null, operation?: string | null): string {
  let q = `service:${quoteValue(service)}`;
  if (operation) q += ` operation_name:${quoteValue(operation)}`;
  return resource ? `${q} resource_name:${quoteValue(resource)}` : q;
}

/** The operations a service page's selector offers: the service's (most hits first), plus the
 * one in the URL when the range has none of it, so the selection stays visible. */
export function operationOptions(operations: ReadonlyArray<{ name: string; hits: number; primary?: boolean }>, selected: string | null): Array<{ name: string; hits: number | null; primary: boolean }> {
  const list: Array<{ name: string; hits: number | null; primary: boolean }> = operations.map((o) => ({ name: o.name, hits: o.hits, primary: o.primary === true }));
  if (selected && !list.some((o) => o.name === selected)) list.push({ name: selected, hits: null, primary: false });
  return list;
}

/** The Live Processes page filtered to one host (the value quoted when the search needs it). */
export function hostProcessesPath(host: string): string {
  return `/processes?${new URLSearchParams({ q: tagTerm("host", host) })}`;
}

/** A copy of `rows` sorted by `key`: numbers numerically, strings by locale; ties keep their order. */
export function sortRows<T extends object>(rows: readonly T[], key: string, order: "asc" | "desc"): T[] {
  const dir = order === "asc" ? 1 : -1;
  const value = (r: T) => (r as Record<string, unknown>)[key];
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => {
      const x = value(a.r);
      const y = value(b.r);
      let c: number;
      if (typeof x === "number" && typeof y === "number") c = x - y;
      else if (x == null || y == null) c = x == null ? (y == null ? 0 : 1) : -1;
      else c = String(x).localeCompare(String(y));
      // Missing values go last whichever the direction.
      if (x == null || y == null) return c || a.i - b.i;
      return c * dir || a.i - b.i;
    })
    .map((x) => x.r);
}

/** A header click: the same column reverses, another sorts text ascending and numbers descending. */
export function nextSort(current: { sort: string; order: "asc" | "desc" }, column: string, textual: boolean): { sort: string; order: "asc" | "desc" } {
  if (current.sort === column) return { sort: column, order: current.order === "asc" ? "desc" : "asc" };
  return { sort: column, order: textual ? "asc" : "desc" };
}
