import { describe, expect, it } from "vitest";
import type { QuerySeries } from "../src/metrics-api";
import {
  aggregationsFor,
  alignSeries,
  applyQueryText,
  buildQuery,
  canAsCount,
  DEFAULT_METRICS_VIEW,
  effectiveQuery,
  metricRangeMs,
  metricsPath,
  parseMetricsView,
  parseSimpleQuery,
  pickMetric,
  replaceScopeToken,
  scopeSuggestions,
  scopeTokenAt,
  seriesLabel,
} from "../src/metrics-state";

const search = (path: string) => path.slice(path.indexOf("?") === -1 ? path.length : path.indexOf("?"));

describe("the pickers make the query text", () => {
  it("writes the aggregator, the scope (* when empty), the group-by and .as_count()", () => {
    expect(buildQuery({ agg: "avg", metric: "app.hits", scope: "", by: [], asCount: false })).toBe("avg:app.hits{*}");
    expect(buildQuery({ agg: "sum", metric: "app.hits", scope: " env:prod,!host:web-1 ", by: ["host", "env"], asCount: true })).toBe(
      "sum:app.hits{env:prod,!host:web-1} by {host,env}.as_count()",
    );
    expect(buildQuery({ agg: "p95", metric: "app.latency", scope: "service:api", by: [], asCount: false })).toBe("p95:app.latency{service:api}");
  });

  it("reads a simple query back into the pickers, and round-trips what it builds", () => {
    expect(parseSimpleQuery("sum:app.hits{env:prod} by {host}.as_count()")).toEqual({ agg: "sum", metric: "app.hits", scope: "env:prod", by: ["host"], asCount: true });
    expect(parseSimpleQuery("app.hits{*}")).toEqual({ agg: "avg", metric: "app.hits", scope: "", by: [], asCount: false });
    expect(parseSimpleQuery("  MAX : app.hits { env:prod AND (host:a OR host:b) }  by { host , env } ")).toEqual({
      agg: "max",
      metric: "app.hits",
      scope: "env:prod AND (host:a OR host:b)",
      by: ["host", "env"],
      asCount: false,
    });
    expect(parseSimpleQuery("p99.9:lat{*}")?.agg).toBe("p99.9");
    for (const q of [
      { agg: "min", metric: "a.b_c", scope: "env:prod,!host:web-1", by: ["host"], asCount: true },
      { agg: "count", metric: "d", scope: "", by: [], asCount: false },
    ]) {
      expect(parseSimpleQuery(buildQuery(q))).toEqual(q);
    }
  });

  it("leaves to the server what the pickers cannot express or what does not parse", () => {
    for (const q of [
      "avg:m{",
      "avg:m",
      "a{*},b{*}",
      "avg:m{*}.rollup(sum, 60)",
      "avg:m{*}.fill(zero)",
      "avg:m{*}.as_rate()",
      "median:m{*}",
      "avg:m{*} by {a b}",
      "avg:1m{*}",
      "",
    ]) {
      expect(parseSimpleQuery(q), q).toBeNull();
    }
  });

  it("runs the typed query when the pickers cannot take it, and the pickers' otherwise", () => {
    const view = { ...DEFAULT_METRICS_VIEW, metric: "old", scope: "env:dev" };
    const simple = applyQueryText(view, "sum:new{env:prod} by {host}");
    expect(simple).toEqual({ ...view, agg: "sum", metric: "new", scope: "env:prod", by: ["host"], raw: null });
    expect(effectiveQuery(simple)).toBe("sum:new{env:prod} by {host}");
    const raw = applyQueryText(view, " avg:m{ ");
    expect(raw.raw).toBe("avg:m{");
    expect(raw.metric).toBe("old");
    expect(effectiveQuery(raw)).toBe("avg:m{");
    expect(applyQueryText(raw, "  ").raw).toBeNull();
    expect(effectiveQuery(DEFAULT_METRICS_VIEW)).toBe("");
  });
});

describe("what the pickers offer", () => {
  it("percentiles and count only for distributions, as count only for rates and counts", () => {
    expect(aggregationsFor("gauge")).toEqual(["avg", "sum", "min", "max"]);
    expect(aggregationsFor(null)).toEqual(["avg", "sum", "min", "max"]);
    expect(aggregationsFor("distribution")).toEqual(["avg", "sum", "min", "max", "count", "p50", "p75", "p90", "p95", "p99"]);
    expect(canAsCount("rate")).toBe(true);
    expect(canAsCount("count")).toBe(true);
    expect(canAsCount("gauge")).toBe(false);
    expect(canAsCount("distribution")).toBe(false);
  });

  it("picking another metric keeps scope and grouping, and drops what the new type does not take", () => {
    const view = { ...DEFAULT_METRICS_VIEW, metric: "lat", agg: "p95", scope: "env:prod", by: ["host"], asCount: true, raw: "x{" };
    expect(pickMetric(view, "hits", "rate")).toEqual({ ...view, metric: "hits", agg: "avg", raw: null });
    expect(pickMetric(view, "temp", "gauge")).toEqual({ ...view, metric: "temp", agg: "avg", asCount: false, raw: null });
    expect(pickMetric(view, "lat2", "distribution")).toEqual({ ...view, metric: "lat2", asCount: false, raw: null });
    expect(pickMetric(view, "unknown", null)).toEqual({ ...view, metric: "unknown", raw: null });
  });
});

describe("the scope box suggests the metric's tags for the word at the caret", () => {
  const tags = { env: ["prod", "staging"], host: ["web-1", "web-2"], service: ["api"] };

  it("finds the word between commas, blanks and parentheses, keeping a negation", () => {
    expect(scopeTokenAt("env:prod,!ho", 12)).toEqual({ start: 9, end: 12, negation: "!", word: "ho" });
    expect(scopeTokenAt("env:prod,host:w", 3)).toEqual({ start: 0, end: 8, negation: "", word: "env:prod" });
    expect(scopeTokenAt("(env:prod OR -se)", 16)).toEqual({ start: 13, end: 16, negation: "-", word: "se" });
    expect(scopeTokenAt("env:prod,", 9)).toEqual({ start: 9, end: 9, negation: "", word: "" });
  });

  it("lists tags starting with the word first, then containing it, without those already in the scope", () => {
    expect(scopeSuggestions(tags, "web", "")).toEqual(["host:web-1", "host:web-2"]);
    expect(scopeSuggestions(tags, "pro", "")).toEqual(["env:prod"]);
    expect(scopeSuggestions(tags, "e", "")).toEqual(["env:prod", "env:staging", "host:web-1", "host:web-2", "service:api"]);
    expect(scopeSuggestions(tags, "", "env:prod,")).toEqual(["env:staging", "host:web-1", "host:web-2", "service:api"]);
    expect(scopeSuggestions(tags, "", "!host:web-1,", 2)).toEqual(["env:prod", "env:staging"]);
    expect(scopeSuggestions(tags, "OR", "env:prod OR ")).toEqual([]);
  });

  it("a pick replaces the word, keeps its negation, and puts the caret after it", () => {
    const text = "env:prod,!ho";
    expect(replaceScopeToken(text, scopeTokenAt(text, 12), "host:web-1")).toEqual({ text: "env:prod,!host:web-1", caret: 20 });
    const mid = "env:st,host:web-1";
    expect(replaceScopeToken(mid, scopeTokenAt(mid, 5), "env:staging")).toEqual({ text: "env:staging,host:web-1", caret: 11 });
  });
});

describe("the explorer's state lives in the URL", () => {
  it("a plain link is the default view and writes nothing", () => {
    expect(parseMetricsView("")).toEqual(DEFAULT_METRICS_VIEW);
    expect(metricsPath(DEFAULT_METRICS_VIEW)).toBe("/metrics");
  });

  it("round-trips every setting", () => {
    const view = { metric: "app.hits", scope: "env:prod,!host:web-1", by: ["host", "env"], agg: "sum", asCount: true, range: "4h", raw: "avg:a{*},avg:b{*}" };
    const path = metricsPath(view);
    expect(path.startsWith("/metrics?")).toBe(true);
    expect(parseMetricsView(search(path))).toEqual(view);
  });

  it("falls back to defaults for values it does not know", () => {
    const v = parseMetricsView("?agg=median&range=2y&scope=*&by=,host,&q=%20");
    expect(v.agg).toBe("avg");
    expect(v.range).toBe("1h");
    expect(v.scope).toBe("");
    expect(v.by).toEqual(["host"]);
    expect(v.raw).toBeNull();
  });

  it("ranges have lengths, up to a week", () => {
    expect(metricRangeMs("15m")).toBe(900_000);
    expect(metricRangeMs("1w")).toBe(7 * 86_400_000);
    expect(metricRangeMs("7d")).toBe(3_600_000);
  });
});

const series = (tag_set: string[], pointlist: Array<[number, number | null]>, query_index = 0, metric = "app.hits"): QuerySeries => ({
  metric,
  display_name: metric,
  expression: "",
  scope: tag_set.join(",") || "*",
  tag_set,
  aggr: "avg",
  query_index,
  unit: null,
  interval: 10,
  length: pointlist.length,
  start: pointlist[0]?.[0] ?? 0,
  end: pointlist[pointlist.length - 1]?.[0] ?? 0,
  pointlist,
});

describe("the answer as chart lines", () => {
  it("names a line by its group, or by the metric when ungrouped or with several queries", () => {
    expect(seriesLabel(series([], []), false)).toBe("app.hits");
    expect(seriesLabel(series(["host:a", "env:prod"], []), false)).toBe("host:a,env:prod");
    expect(seriesLabel(series(["host:a"], [], 1, "b.c"), true)).toBe("b.c host:a");
  });

  it("puts every series on one time axis, null where a series has no point", () => {
    const a = series(["host:a"], [
      [1000, 1],
      [3000, 3],
    ]);
    const b = series(["host:b"], [
      [2000, -2],
      [3000, null],
    ]);
    expect(alignSeries([a, b])).toEqual({
      times: [1000, 2000, 3000],
      values: [
        [1, null, 3],
        [null, -2, null],
      ],
    });
    expect(alignSeries([])).toEqual({ times: [], values: [] });
  });
});
