// Integrations detected from live processes (docs/api.md, "Integrations"): the answers' types,
// the pages' state in the URL, the Live Processes "Views" presets, and the queries and charts of
// an integration's key metrics for the process side panel. Pure functions, tested in
// test/integrations-state.test.ts.

import type { HostCheck } from "./api";
import { withSearch } from "./apm-state";
import type { QueryAnswer } from "./metrics-api";
import { alignSeries } from "./metrics-state";

export type IntegrationStatus = "detected" | "partial" | "installed";

/** How a key metric's values are shown. */
export type MetricUnit = "number" | "per_second" | "bytes" | "bytes_per_second" | "milliseconds" | "fraction";

export interface KeyMetric {
  name: string;
  label: string;
  unit: MetricUnit;
}

export interface Signature {
  text: string;
  source: "manifest" | "own";
}

/** One integration on one host. */
export interface IntegrationHost {
  hostname: string;
  processes: number;
  pids: number[];
  configured: boolean;
  checks: HostCheck[];
}

/** An integration as the list gives it (`host` only with `?host=`). */
export interface Integration {
  id: string;
  name: string;
  signatures: Signature[];
  metrics: KeyMetric[];
  query: string;
  /** null when it neither runs nor is configured anywhere (the detail route of an idle one). */
  status: IntegrationStatus | null;
  status_label: string;
  hosts_running: number;
  hosts_configured: number;
  hosts_unconfigured: number;
  processes: number;
  host?: IntegrationHost;
}

/** An integration the server can detect, for the Views menu. */
export interface CatalogEntry {
  id: string;
  name: string;
  query: string;
}

export interface IntegrationsAnswer {
  integrations: Integration[];
  catalog: CatalogEntry[];
}

export interface IntegrationDetail extends Integration {
  hosts: IntegrationHost[];
}

/** The badge class of a status: Detected amber, Partial Visibility blue, Installed green. */
export function statusBadge(status: IntegrationStatus | null): string {
  return status == null ? "unknown" : status;
}

/** Installed first, then Partial Visibility, then Detected; by name within each. */
export function sortIntegrations(list: readonly Integration[]): Integration[] {
  const rank = (s: IntegrationStatus | null) => (s === "installed" ? 0 : s === "partial" ? 1 : s === "detected" ? 2 : 3);
  return [...list].sort((a, b) => rank(a.status) - rank(b.status) || a.name.localeCompare(b.name));
}

/** What the Integrations page shows: a status filter and text in the name. */
export interface IntegrationsView {
  status: IntegrationStatus | "";
  q: string;
}

const STATUSES: readonly IntegrationStatus[] = ["detected", "partial", "installed"];

export function parseIntegrationsView(search: string): IntegrationsView {
  const p = new URLSearchParams(search);
  const status = p.get("status") ?? "";
  return { status: (STATUSES as readonly string[]).includes(status) ? (status as IntegrationStatus) : "", q: p.get("q") ?? "" };
}

export const integrationsPath = (view: IntegrationsView) => withSearch("/integrations", { status: view.status, q: view.q });

/** The integrations a view lists. */
export function filterIntegrations(list: readonly Integration[], view: IntegrationsView): Integration[] {
  const q = view.q.trim().toLowerCase();
  return sortIntegrations(list).filter((i) => (!view.status || i.status === view.status) && (!q || i.name.toLowerCase().includes(q) || i.id.includes(q)));
}

/** One integration's page: `/integrations/<id>`, with its tab (`hosts` by default, or `about`). */
export interface IntegrationView {
  id: string;
  tab: "hosts" | "about";
}

export function parseIntegrationView(id: string, search: string): IntegrationView {
  return { id, tab: new URLSearchParams(search).get("tab") === "about" ? "about" : "hosts" };
}

export const integrationPath = (view: IntegrationView) => withSearch(`/integrations/${encodeURIComponent(view.id)}`, { tab: view.tab === "hosts" ? null : view.tab });

/** The Live Processes page scoped to an integration (the Views preset), optionally on one host. */
export function integrationProcessesPath(query: string, hostname?: string): string {
  const q = hostname ? `host:${hostname} ${query.includes(" OR ") ? `(${query})` : query}` : query;
  return `/processes?q=${encodeURIComponent(q)}`;
}

/** The preset whose query the page's query is, if any (the Views menu marks it). */
export function activePreset(query: string, catalog: readonly CatalogEntry[]): CatalogEntry | null {
  const q = query.trim();
  return catalog.find((c) => c.query === q) ?? null;
}

/** The Views menu's presets: those running somewhere first (with their process counts), then the rest, by name. */
export function viewPresets(catalog: readonly CatalogEntry[], running: readonly Integration[]): Array<CatalogEntry & { processes: number }> {
  const counts = new Map(running.map((i) => [i.id, i.processes]));
  return catalog
    .map((c) => ({ ...c, processes: counts.get(c.id) ?? 0 }))
    .sort((a, b) => Number(b.processes > 0) - Number(a.processes > 0) || a.name.localeCompare(b.name));
}

/** The integration a process runs when its check is configured on the process's host: what the
 * side panel's Integration metrics tab needs. `list` is the answer to `?host=<its host>`. */
export function configuredIntegrationOf(list: readonly Integration[], pid: number): Integration | null {
  return list.find((i) => i.host?.configured && i.host.pids.includes(pid)) ?? null;
}

/** One request for every key metric of `integration` on `hostname`, in order (`query_index` counts them). */
export function integrationMetricsQuery(integration: Pick<Integration, "metrics">, hostname: string): string {
  return integration.metrics.map((m) => `avg:${m.name}{host:${hostname}}`).join(",");
}

/** A key metric's chart: its times and one line per series (one unless the check tags several instances). */
export interface MetricChart {
  metric: KeyMetric;
  times: number[];
  lines: Array<{ label: string; values: Array<number | null> }>;
}

/** The answer to `integrationMetricsQuery` split into one chart per metric. */
export function metricCharts(integration: Pick<Integration, "metrics">, answer: QueryAnswer): MetricChart[] {
  return integration.metrics.map((metric, index) => {
    const series = (answer.series ?? []).filter((s) => s.query_index === index);
    const { times, values } = alignSeries(series);
    const scale = metric.unit === "fraction" ? 100 : 1;
    return {
      metric,
      times,
      lines: series.map((s, i) => ({
        label: s.tag_set.length > 0 ? s.tag_set.join(",") : metric.label,
        values: values[i].map((v) => (v == null ? null : v * scale)),
      })),
    };
  });
}
