// The server's metric, event and service check routes (docs/api.md, "Metrics, events and
// service checks"), typed. The query and event routes take Unix seconds; the query answers in
// epoch milliseconds.

import { get } from "./api";

/** How a metric is stored: DogStatsD counts become `rate`s, distributions keep their sketches. */
export type MetricType = "gauge" | "rate" | "count" | "distribution";

/** A metric in the explorer's picker. `last_seen` is Unix seconds. */
export interface MetricSummary {
  name: string;
  type: MetricType;
  contexts: number;
  hosts: number;
  last_seen: number;
}

export interface MetricsAnswer {
  metrics: MetricSummary[];
  total: number;
  /** Whether more metrics match than were listed (the server sends it; the contract does not name it). */
  more?: boolean;
}

/** One metric's tag keys and their values (at most 100 each), for the scope and group-by pickers. */
/** A metric's metadata (Datadog's `MetricMetadata`, set with `PUT /api/v1/metrics/{name}`); unset fields are absent. */
export interface MetricMetadata {
  type?: string;
  unit?: string;
  per_unit?: string;
  description?: string;
  short_name?: string;
  statsd_interval?: number;
}

export interface MetricDetail {
  name: string;
  type: MetricType;
  contexts: number;
  last_seen: number;
  tags: Record<string, string[]>;
  metadata?: MetricMetadata | null;
}

/** The unit of a metric's metadata as it reads: `byte`, `byte/second`, or null when unset. */
export function unitText(m: MetricMetadata | null | undefined): string | null {
  if (!m?.unit) return null;
  return m.per_unit ? `${m.unit}/${m.per_unit}` : m.unit;
}

/** One line of a query's answer: a group (`tag_set`) of one query (`query_index`). */
export interface QuerySeries {
  metric: string;
  display_name: string;
  expression: string;
  scope: string;
  tag_set: string[];
  aggr: string | null;
  query_index: number;
  unit: unknown;
  interval: number;
  length: number;
  start: number;
  end: number;
  /** [epoch ms, value]; the value is null only under `.fill(null)`. */
  pointlist: Array<[number, number | null]>;
}

export interface QueryAnswer {
  status: string;
  query: string;
  from_date: number;
  to_date: number;
  group_by: string[];
  series: QuerySeries[];
}

export type AlertType = "error" | "warning" | "info" | "success";

/** An event; `date_happened` is Unix seconds. */
export interface DdEvent {
  id: number;
  title: string;
  text: string;
  date_happened: number;
  priority: "normal" | "low";
  host: string | null;
  tags: string[];
  alert_type: AlertType;
  aggregation_key: string | null;
  source_type_name: string | null;
  url: string;
}

/** The latest run of one (check, host); `counts` are its runs in the last hour by status. */
export interface ServiceCheck {
  check: string;
  host: string;
  status: number;
  status_name: string;
  message: string;
  tags: string[];
  timestamp: number;
  counts: StatusCounts;
}

export interface StatusCounts {
  ok: number;
  warning: number;
  critical: number;
  unknown: number;
}

export interface ChecksAnswer {
  checks: ServiceCheck[];
  totals: StatusCounts;
}

/** A time range in ms since the epoch. */
export type MsRange = { from: number; to: number };

const seconds = (ms: number) => Math.floor(ms / 1000);

export const metricsApi = {
  metrics: (p: { q?: string; limit?: number }, signal?: AbortSignal) => get<MetricsAnswer>("/api/ui/metrics", p, signal),
  metric: (name: string, signal?: AbortSignal) => get<MetricDetail>(`/api/ui/metrics/${encodeURIComponent(name)}`, {}, signal),
  query: (p: MsRange & { query: string }, signal?: AbortSignal) =>
    get<QueryAnswer>("/api/v1/query", { from: seconds(p.from), to: Math.ceil(p.to / 1000), query: p.query }, signal),
  events: (p: MsRange & { q?: string; tags?: string; priority?: string; limit?: number }, signal?: AbortSignal) =>
    get<{ events: DdEvent[] }>("/api/v1/events", { start: seconds(p.from), end: Math.ceil(p.to / 1000), q: p.q, tags: p.tags, priority: p.priority, limit: p.limit }, signal),
  event: (id: string, signal?: AbortSignal) => get<{ event: DdEvent }>(`/api/v1/events/${encodeURIComponent(id)}`, {}, signal),
  checks: (p: { q?: string; status?: string; tags?: string }, signal?: AbortSignal) => get<ChecksAnswer>("/api/ui/service_checks", p, signal),
};
