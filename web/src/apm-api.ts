// The server's APM routes (docs/api.md, "APM"), typed. Ids are decimal strings, times and
// durations are nanoseconds (`start` a decimal string, `start_ms` a float for charts).

import { get } from "./api";

/** One span, as every APM route returns it. */
export interface Span {
  trace_id: string;
  trace_id_128: string;
  span_id: string;
  /** `"0"` for a root span. */
  parent_id: string;
  service: string;
  name: string;
  resource: string;
  type: string;
  host: string;
  env: string;
  version: string;
  /** Nanoseconds since the epoch, as a decimal string (beyond a double's exact range). */
  start: string;
  start_ms: number;
  /** Nanoseconds. */
  duration: number;
  error: number;
  top_level: boolean;
  measured: boolean;
  meta: Record<string, string>;
  metrics: Record<string, number>;
}

/** RED metrics of a service (or of the whole range for a service's summary). Latencies in ns. */
export interface ServiceStats {
  service: string;
  env: string;
  type: string;
  hits: number;
  errors: number;
  /** 0..1 */
  error_rate: number;
  avg: number;
  p50: number;
  p95: number;
  p99: number;
  hits_per_s: number;
  /** The operation these numbers are of: the primary one (most top-level hits) unless asked. */
  operation?: string;
  /** The service's top-level operations, most hits first. */
  operations?: OperationStats[];
  /** The `_dd.base_service` of the service's spans (an integration service's application). */
  base_service?: string | null;
}

/** One top-level operation of a service; a service page's have the RED fields too. */
export interface OperationStats {
  name: string;
  hits: number;
  errors: number;
  primary: boolean;
  avg?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  error_rate?: number;
}

export interface ServicesAnswer {
  from_ms: number;
  to_ms: number;
  envs: string[];
  services: ServiceStats[];
}

export interface ResourceStats {
  resource: string;
  name: string;
  hits: number;
  errors: number;
  error_rate: number;
  avg: number;
  p50: number;
  p95: number;
  p99: number;
  total_duration: number;
}

export interface ServiceAnswer {
  service: string;
  from_ms: number;
  to_ms: number;
  /** The operation `summary` and `resources` are of; null when the service has no stats. */
  operation: string | null;
  operations: OperationStats[];
  base_service: string | null;
  summary: ServiceStats;
  resources: ResourceStats[];
}

/** One time bucket; latencies are null when the bucket has no hits. */
export interface SeriesPoint {
  t_ms: number;
  hits: number;
  errors: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface SeriesAnswer {
  step_ms: number;
  operation?: string | null;
  points: SeriesPoint[];
}

export type ListedSpan = Span & { trace_duration?: number };

export interface SpansAnswer {
  spans: ListedSpan[];
  next_cursor: string | null;
}

export interface TraceService {
  service: string;
  spans: number;
  errors: number;
  duration: number;
}

export interface TraceAnswer {
  trace_id: string;
  trace_id_128: string;
  start: string;
  start_ms: number;
  duration: number;
  root_span_id: string;
  span_count: number;
  errors: number;
  services: TraceService[];
  hosts: string[];
  spans: Span[];
}

/** A time range as the routes take it, ms since the epoch. */
export type TimeRange = { from: number; to: number };

export const apmApi = {
  services: (p: TimeRange & { env?: string }, signal?: AbortSignal) => get<ServicesAnswer>("/api/ui/apm/services", p, signal),
  service: (service: string, p: TimeRange & { env?: string; operation?: string }, signal?: AbortSignal) =>
    get<ServiceAnswer>(`/api/ui/apm/services/${encodeURIComponent(service)}`, p, signal),
  series: (p: TimeRange & { service: string; operation?: string; resource?: string; env?: string }, signal?: AbortSignal) =>
    get<SeriesAnswer>("/api/ui/apm/series", p, signal),
  spans: (p: TimeRange & { query: string; limit: number; cursor?: string | null; entry: boolean }, signal?: AbortSignal) =>
    get<SpansAnswer>("/api/ui/apm/spans", { query: p.query, from: p.from, to: p.to, limit: p.limit, cursor: p.cursor, entry: p.entry ? 1 : undefined }, signal),
  trace: (traceId: string, signal?: AbortSignal) => get<TraceAnswer>(`/api/ui/apm/traces/${encodeURIComponent(traceId)}`, {}, signal),
};
