// The metrics explorer's state: the pickers (metric, scope, group-by, aggregation, "as count"),
// the query text they make, a typed query read back into them, and the URL that holds it all.
// The query language is Datadog's (docs/api.md, `GET /api/v1/query`):
//   [aggregator:]metric.name{scope}[ by {tag_key,...}][.function(...)...]

import { APM_RANGES, parseRange, rangeMs, withSearch, type RangeOption } from "./apm-state";
import type { MetricType, QuerySeries } from "./metrics-api";

/** The ranges the metrics and events pages offer, shortest first: the APM pages' up to a day, then a week. */
export const METRIC_RANGES: RangeOption[] = [...APM_RANGES.filter((r) => ["15m", "1h", "4h", "1d"].includes(r.name)), { name: "1w", ms: 7 * 86_400_000 }];

export const DEFAULT_METRIC_RANGE = "1h";

/** The length of a metrics or events range named in the URL, in ms. */
export const metricRangeMs = (name: string) => rangeMs(name, METRIC_RANGES, DEFAULT_METRIC_RANGE);

/** What the pickers say: one query. `scope` is as typed; empty means every series (`*`). */
export interface MetricQuery {
  agg: string;
  metric: string;
  scope: string;
  by: string[];
  asCount: boolean;
}

/** The explorer's whole view: the pickers, the range, and a typed query the pickers cannot
 * express (several queries, other functions), which then runs instead of theirs. */
export interface MetricsView extends MetricQuery {
  range: string;
  raw: string | null;
}

export const DEFAULT_METRICS_VIEW: MetricsView = { agg: "avg", metric: "", scope: "", by: [], asCount: false, range: DEFAULT_METRIC_RANGE, raw: null };

const BASE_AGGREGATIONS = ["avg", "sum", "min", "max"];
const DISTRIBUTION_AGGREGATIONS = ["count", "p50", "p75", "p90", "p95", "p99"];
/** Every aggregator the server takes: the four, `count`, and percentiles `pNN` / `pNN.N`. */
const AGGREGATOR = /^(avg|sum|min|max|count|p\d{1,2}(\.\d+)?)$/;

/** The aggregations offered for a metric of `type` (the four for an unknown type). */
export function aggregationsFor(type: MetricType | null | undefined): string[] {
  return type === "distribution" ? [...BASE_AGGREGATIONS, ...DISTRIBUTION_AGGREGATIONS] : BASE_AGGREGATIONS;
}

/** Whether "as count" means something for a metric of `type`: per-second rates and counts. */
export function canAsCount(type: MetricType | null | undefined): boolean {
  return type === "rate" || type === "count";
}

/** The query text of the pickers: `avg:app.hits{env:prod} by {host}.as_count()`. */
export function buildQuery(q: MetricQuery): string {
  const scope = q.scope.trim() || "*";
  const by = q.by.length > 0 ? ` by {${q.by.join(",")}}` : "";
  return `${q.agg}:${q.metric}{${scope}}${by}${q.asCount ? ".as_count()" : ""}`;
}

const SIMPLE_QUERY = /^\s*(?:([A-Za-z0-9.]+)\s*:\s*)?([A-Za-z_][\w.]*)\s*\{([^{}]*)\}(?:\s*by\s*\{([^{}]*)\})?\s*(\.as_count\(\s*\))?\s*$/;

/** The pickers' state for a query they can express (one query, a known aggregator, no function
 * but `.as_count()`), else null. `*` reads as an empty scope. */
export function parseSimpleQuery(text: string): MetricQuery | null {
  const m = SIMPLE_QUERY.exec(text);
  if (!m) return null;
  const agg = (m[1] ?? "avg").toLowerCase();
  if (!AGGREGATOR.test(agg)) return null;
  const scope = m[3].trim();
  const by = (m[4] ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k !== "");
  if (by.some((k) => /\s/.test(k))) return null;
  return { agg, metric: m[2], scope: scope === "*" ? "" : scope, by, asCount: m[5] != null };
}

/** The query the page runs: the typed one when the pickers cannot express it, else theirs
 * (empty while no metric is picked). */
export function effectiveQuery(view: MetricsView): string {
  return view.raw ?? (view.metric ? buildQuery(view) : "");
}

/** The view after the query text was edited and entered: read back into the pickers when they
 * can express it, else kept as typed. An empty text goes back to the pickers' query. */
export function applyQueryText(view: MetricsView, text: string): MetricsView {
  const t = text.trim();
  if (t === "") return { ...view, raw: null };
  const parsed = parseSimpleQuery(t);
  return parsed ? { ...view, ...parsed, raw: null } : { ...view, raw: t };
}

/** The view after picking `metric` (of `type`, when known): scope and grouping stay; an
 * aggregation or "as count" the new metric does not offer goes back to the default. */
export function pickMetric(view: MetricsView, metric: string, type: MetricType | null): MetricsView {
  const next = { ...view, metric, raw: null };
  if (type == null) return next;
  if (!aggregationsFor(type).includes(next.agg)) next.agg = "avg";
  if (!canAsCount(type)) next.asCount = false;
  return next;
}

const list = (s: string | null) => (s ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");

/** The view a URL's search string describes; unknown values fall back to the defaults. */
export function parseMetricsView(search: string): MetricsView {
  const p = new URLSearchParams(search);
  const agg = (p.get("agg") ?? "").toLowerCase();
  const scope = (p.get("scope") ?? "").trim();
  return {
    metric: (p.get("metric") ?? "").trim(),
    scope: scope === "*" ? "" : scope,
    by: list(p.get("by")),
    agg: AGGREGATOR.test(agg) ? agg : "avg",
    asCount: p.get("as_count") === "1",
    range: parseRange(p, METRIC_RANGES, DEFAULT_METRIC_RANGE),
    raw: p.get("q")?.trim() || null,
  };
}

/** The explorer's path for `view`, leaving defaults out. */
export function metricsPath(view: MetricsView): string {
  return withSearch("/metrics", {
    metric: view.metric,
    scope: view.scope,
    by: view.by.join(","),
    agg: view.agg === "avg" ? null : view.agg,
    as_count: view.asCount ? "1" : null,
    range: view.range === DEFAULT_METRIC_RANGE ? null : view.range,
    q: view.raw,
  });
}

/** The word of a scope around the caret, which a suggestion replaces: from the last `,`, blank
 * or parenthesis before the caret to the next one after it. A leading `!` or `-` (negation)
 * stays: `negation` is it, `word` what follows. */
export interface ScopeToken {
  start: number;
  end: number;
  negation: string;
  word: string;
}

const SCOPE_BREAK = /[,()\s]/;

export function scopeTokenAt(text: string, caret: number): ScopeToken {
  const at = Math.max(0, Math.min(caret, text.length));
  let start = at;
  while (start > 0 && !SCOPE_BREAK.test(text[start - 1])) start--;
  let end = at;
  while (end < text.length && !SCOPE_BREAK.test(text[end])) end++;
  const raw = text.slice(start, end);
  const negation = raw.startsWith("!") || raw.startsWith("-") ? raw[0] : "";
  return { start, end, negation, word: raw.slice(negation.length) };
}

/** `key:value` tags of a metric that contain `word` (ignoring case), those starting with it
 * first, leaving out the ones the scope already has; at most `limit`. */
export function scopeSuggestions(tags: Record<string, string[]>, word: string, scope: string, limit = 20): string[] {
  if (/^(AND|OR|NOT)$/.test(word)) return [];
  const w = word.toLowerCase();
  const taken = new Set(scope.split(SCOPE_BREAK).map((t) => t.replace(/^[!-]/, "")));
  const starts: string[] = [];
  const contains: string[] = [];
  for (const key of Object.keys(tags).sort()) {
    for (const value of tags[key]) {
      const tag = `${key}:${value}`;
      if (taken.has(tag) && tag !== word) continue;
      const l = tag.toLowerCase();
      if (l.startsWith(w)) starts.push(tag);
      else if (l.includes(w)) contains.push(tag);
    }
  }
  return [...starts, ...contains].slice(0, limit);
}

/** The scope with `token` replaced by `tag` (keeping its negation), and where the caret goes. */
export function replaceScopeToken(text: string, token: ScopeToken, tag: string): { text: string; caret: number } {
  const insert = token.negation + tag;
  return { text: text.slice(0, token.start) + insert + text.slice(token.end), caret: token.start + insert.length };
}

/** A series' name in the legend: its group (`host:web-1,env:prod`), or the metric when the
 * query is not grouped; with several queries the metric comes first. */
export function seriesLabel(s: QuerySeries, severalQueries: boolean): string {
  const name = s.display_name || s.metric;
  const group = s.tag_set.join(",");
  if (!group) return name;
  return severalQueries ? `${name} ${group}` : group;
}

/** The series on one time axis, as a chart needs them: every timestamp of any series, in
 * order, and each series' value there (null where it has none). */
export function alignSeries(series: readonly QuerySeries[]): { times: number[]; values: Array<Array<number | null>> } {
  const times = [...new Set(series.flatMap((s) => s.pointlist.map((p) => p[0])))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const values = series.map((s) => {
    const v: Array<number | null> = new Array(times.length).fill(null);
    for (const [t, x] of s.pointlist) v[index.get(t)!] = x;
    return v;
  });
  return { times, values };
}
