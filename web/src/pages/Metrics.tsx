// The metrics explorer: pick a metric (search as you type), narrow it with a scope, split it by
// tag keys, choose how series combine, and see one line per group over the range. The pickers
// write the query text (`avg:app.hits{env:prod} by {host}`), which can also be edited by hand:
// a query the pickers can express is read back into them, any other runs as typed. Everything
// is in the URL; the chart reloads every 10 s while the page is visible.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, type QueryError } from "../api";
import { LoadErrorBanner, Loading, RangePicker, RefreshStatus } from "../components/ApmParts";
import { GroupByMenu } from "../components/GroupByMenu";
import { SearchBar } from "../components/SearchBar";
import { Suggest, type SuggestItem } from "../components/Suggest";
import { LINE_COLORS, TimeChart } from "../components/TimeChart";
import { formatAgo, formatCount, formatValue } from "../format";
import { metricsApi, unitText, type MetricDetail, type MetricSummary, type QueryAnswer } from "../metrics-api";
import {
  aggregationsFor,
  alignSeries,
  applyQueryText,
  canAsCount,
  effectiveQuery,
  METRIC_RANGES,
  metricRangeMs,
  metricsPath,
  parseMetricsView,
  pickMetric,
  replaceScopeToken,
  scopeSuggestions,
  scopeTokenAt,
  seriesLabel,
  type MetricsView,
} from "../metrics-state";
import { navigate } from "../router";
import { usePolling } from "../use-live-refresh";

/** How often the chart reloads while visible. */
export const METRICS_REFRESH_MS = 10_000;
/** How long typing in the metric picker pauses before the list is asked for. */
const SEARCH_AFTER_MS = 200;
/** Metrics listed in the picker. */
const PICKER_LIMIT = 100;

/** The chart's answer and the range and query it was asked for. */
interface Shown {
  answer: QueryAnswer;
  from: number;
  to: number;
  query: string;
}

interface Loaded {
  detail: MetricDetail | null;
  /** How many metrics the server has, and some of them (for the "pick a metric" prompt). */
  total: number;
  some: MetricSummary[];
  more: boolean;
  /** The last good answer: a query the server rejects keeps the previous chart. */
  shown: Shown | null;
  queryError: { error: QueryError; query: string } | null;
}

/** The DogStatsD hint of the empty states. */
function SendHint() {
  return (
    <>
      Send DogStatsD to <code>127.0.0.1:8125</code>, e.g. <code>echo -n 'app.hits:1|c' | nc -u -w0 127.0.0.1 8125</code>; a metric shows up here about 20 s after
      its first sample (the agent sends 10 s buckets).
    </>
  );
}

export function MetricsPage(props: { search: string }) {
  const view = useMemo(() => parseMetricsView(props.search), [props.search]);
  const query = effectiveQuery(view);
  const setView = (next: MetricsView) => navigate(metricsPath(next));
  const good = useRef<Shown | null>(null);

  const polled = usePolling<Loaded>(
    async (signal) => {
      const to = Date.now();
      const from = to - metricRangeMs(view.range);
      const [detail, list, result] = await Promise.all([
        view.metric
          ? metricsApi.metric(view.metric, signal).catch((e) => {
              if (e instanceof ApiError && e.status === 404) return null;
              throw e;
            })
          : null,
        metricsApi.metrics({ limit: view.metric ? 1 : 30 }, signal),
        query
          ? metricsApi.query({ from, to, query }, signal).then(
              (answer) => ({ shown: { answer, from, to, query }, queryError: null }),
              (e) => {
                if (e instanceof ApiError && e.queryError) return { shown: null, queryError: { error: e.queryError, query } };
                throw e;
              },
            )
          : { shown: null, queryError: null },
      ]);
      if (!query) good.current = null;
      else if (result.shown) good.current = result.shown;
      return { detail, total: list.total, some: list.metrics, more: list.more ?? list.total > list.metrics.length, shown: good.current, queryError: result.queryError };
    },
    METRICS_REFRESH_MS,
    `${view.metric}|${query}|${view.range}`,
  );
  const data = polled.data;
  // The metric's tags and type, once they are the picked metric's.
  const detail = data?.detail?.name === view.metric ? data.detail : null;
  const type = detail?.type ?? null;

  const chart = useMemo(() => {
    const shown = data?.shown;
    if (!shown) return null;
    const series = shown.answer.series ?? [];
    const several = new Set(series.map((s) => s.query_index)).size > 1;
    const { times, values } = alignSeries(series);
    return {
      shown,
      times,
      series: series.map((s, i) => ({ label: seriesLabel(s, several), color: LINE_COLORS[i % LINE_COLORS.length], values: values[i] })),
    };
  }, [data?.shown]);

  const aggs = aggregationsFor(type);
  const aggOptions = aggs.includes(view.agg) ? aggs : [...aggs, view.agg];
  const tagKeys = useMemo(() => Object.keys(detail?.tags ?? {}).sort(), [detail]);
  const custom = view.raw != null;
  const loadingNew = query !== "" && data?.shown?.query !== query && data?.queryError?.query !== query;

  return (
    <div class="apm metrics">
      <div class="toolbar">
        <h2>Metrics</h2>
        <RangePicker range={view.range} ranges={METRIC_RANGES} onChange={(range) => setView({ ...view, range })} />
        <span class="spacer" />
        <RefreshStatus updatedAt={polled.updatedAt} failing={polled.error != null} />
      </div>
      <div class={`toolbar builder${custom ? " overridden" : ""}`}>
        <MetricPicker metric={view.metric} onPick={(metric, t) => setView(pickMetric(view, metric, t))} />
        <label class="inline">
          from <ScopePicker scope={view.scope} tags={detail?.tags ?? {}} onApply={(scope) => scope !== view.scope && setView({ ...view, scope, raw: null })} />
        </label>
        <GroupByMenu keys={tagKeys} by={view.by} onChange={(by) => setView({ ...view, by, raw: null })} />
        <label class="inline">
          Aggregation{" "}
          <select name="agg" value={view.agg} onChange={(e) => setView({ ...view, agg: (e.target as HTMLSelectElement).value, raw: null })}>
            {aggOptions.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        {(canAsCount(type) || view.asCount) && (
          <label class="inline" title="Counts per point (value × interval) instead of a per-second rate: .as_count()">
            <input type="checkbox" name="as_count" checked={view.asCount} onChange={() => setView({ ...view, asCount: !view.asCount, raw: null })} /> as count
          </label>
        )}
        {detail && (
          <span class="muted" data-metric-type={detail.type} title={detail.metadata?.description ?? undefined}>
            {detail.type} · {formatCount(detail.contexts)} series · last point {formatAgo(detail.last_seen * 1000, Date.now())}
            {unitText(detail.metadata) && <span data-metric-unit={unitText(detail.metadata)}> · {unitText(detail.metadata)}</span>}
            {detail.metadata?.description && <span data-metric-description> · {detail.metadata.description}</span>}
          </span>
        )}
      </div>
      <div class="toolbar query-row">
        <SearchBar
          query={query}
          error={data?.queryError?.error ?? null}
          errorQuery={data?.queryError?.query ?? null}
          onApply={(text) => {
            const next = applyQueryText(view, text);
            if (metricsPath(next) === location.pathname + location.search) polled.refresher.now();
            else setView(next);
          }}
          applyOnPause={false}
          name="query"
          label="Metric query"
          placeholder="avg:app.hits{env:prod} by {host}.as_count()   (Enter runs it)"
        />
      </div>
      {custom && (
        <div class="banner note" data-custom-query>
          The typed query runs as it is; the pickers above do not apply to it.{" "}
          <button class="link" onClick={() => setView({ ...view, raw: null })}>
            Back to the pickers
          </button>
        </div>
      )}
      <LoadErrorBanner what="metrics" error={polled.error} everyMs={METRICS_REFRESH_MS} />
      <div class="apm-body">
        {data == null && !polled.error ? (
          <Loading what="metrics" />
        ) : data && data.total === 0 && !chart?.series.length ? (
          <div class="empty" data-empty="no-metrics">
            <strong>No metrics yet</strong>
            <SendHint />
          </div>
        ) : !query ? (
          <div class="empty" data-empty="pick">
            <strong>Pick a metric</strong>
            Search for one in the metric box above, or type a query.
            {data && data.some.length > 0 && (
              <div class="metric-links">
                {data.some.map((m) => (
                  <button key={m.name} class="link" data-metric={m.name} onClick={() => setView(pickMetric(view, m.name, m.type))}>
                    {m.name}
                  </button>
                ))}
                {data.more && <span class="muted">{data.total > data.some.length ? `and ${formatCount(data.total - data.some.length)} more` : "and more"}: search for them</span>}
              </div>
            )}
          </div>
        ) : chart && chart.series.length > 0 ? (
          <div class="charts one" data-series={chart.series.length}>
            <TimeChart
              title={chart.shown.query}
              from={chart.shown.from}
              to={chart.shown.to}
              times={chart.times}
              series={chart.series}
              format={formatValue}
              height={320}
              negative
              spanGaps
            />
            {loadingNew && <span class="spinner chart-loading" title="Loading the new query" />}
          </div>
        ) : chart ? (
          <div class="empty" data-empty="no-data">
            <strong>No data in the last {view.range}</strong>
            Nothing matches <code>{chart.shown.query}</code> in this range. Pick a longer range, widen the scope, or check that the metric is still sent.{" "}
            {data?.total === 0 && <SendHint />}
          </div>
        ) : loadingNew ? (
          <div class="empty">
            <span class="spinner" /> Loading {query}…
          </div>
        ) : null}
      </div>
    </div>
  );
}

/** The metric box: search as you type over the server's metrics, pick with ↑/↓ and Enter or a click. */
function MetricPicker(props: { metric: string; onPick: (metric: string, type: MetricSummary["type"] | null) => void }) {
  const [text, setText] = useState(props.metric);
  useEffect(() => setText(props.metric), [props.metric]);
  // What the list is asked for (null while the box is not in use); `n` asks again for the same text.
  const [search, setSearch] = useState<{ q: string; n: number } | null>(null);
  const [found, setFound] = useState<{ q: string; answer: { metrics: MetricSummary[]; total: number } } | null>(null);

  useEffect(() => {
    if (search == null) return;
    const controller = new AbortController();
    const timer = window.setTimeout(
      () =>
        metricsApi
          .metrics({ q: search.q, limit: PICKER_LIMIT }, controller.signal)
          .then((answer) => setFound({ q: search.q, answer }))
          .catch(() => undefined),
      SEARCH_AFTER_MS,
    );
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [search]);

  const current = found && search && found.q === search.q ? found.answer : null;
  const items: SuggestItem[] = (current?.metrics ?? []).map((m) => ({
    value: m.name,
    label: (
      <>
        <span class="name">{m.name}</span>
        <span class="type">{m.type}</span>
      </>
    ),
  }));
  const typeOf = (name: string) => current?.metrics.find((m) => m.name === name)?.type ?? null;
  const ask = (q: string) => setSearch((s) => ({ q, n: (s?.n ?? 0) + 1 }));

  return (
    <Suggest
      class="metric-picker"
      name="metric"
      label="Metric"
      placeholder="Search metrics…"
      value={text}
      autoHighlight
      items={items}
      loading={search != null && current == null}
      emptyText={search?.q ? `No metric matches "${search.q}"` : "No metrics yet"}
      onInput={(t) => {
        setText(t);
        ask(t.trim());
      }}
      onFocus={(input) => {
        input.select();
        ask(text === props.metric ? "" : text.trim());
      }}
      onBlur={() => {
        setText(props.metric);
        setSearch(null);
      }}
      onPick={(item, input) => {
        setText(item.value);
        setSearch(null);
        props.onPick(item.value, typeOf(item.value));
        input.blur();
      }}
      onEnter={(t) => t.trim() && props.onPick(t.trim(), typeOf(t.trim()))}
    />
  );
}

/** The scope box: free text (`env:prod,!host:web-1`), with the metric's `key:value` tags
 * suggested for the word at the caret. Applied on Enter, on leaving the box, or on a pick. */
function ScopePicker(props: { scope: string; tags: Record<string, string[]>; onApply: (scope: string) => void }) {
  const [text, setText] = useState(props.scope);
  useEffect(() => setText(props.scope), [props.scope]);
  const [caret, setCaret] = useState(0);
  const token = scopeTokenAt(text, caret);
  const suggestions = useMemo(() => scopeSuggestions(props.tags, token.word, text), [props.tags, token.word, text]);

  return (
    <Suggest
      class="scope-picker"
      name="scope"
      label="Scope"
      placeholder="* (everything), or env:prod,!host:web-1"
      value={text}
      items={suggestions.map((s) => ({ value: s, label: s }))}
      onInput={(t, c) => {
        setText(t);
        setCaret(c);
      }}
      onFocus={(input) => setCaret(input.value.length)}
      onPick={(item, input) => {
        const next = replaceScopeToken(text, token, item.value);
        setText(next.text);
        setCaret(next.caret);
        props.onApply(next.text.trim());
        requestAnimationFrame(() => input.setSelectionRange(next.caret, next.caret));
      }}
      onEnter={(t) => props.onApply(t.trim())}
      onBlur={(t) => props.onApply(t.trim())}
    />
  );
}
