// One trace: a flame graph (or a waterfall) of its spans, the services it went through, and the
// selected span's details. Spans reach the server a few seconds after a request ends, so a
// trace not found yet is asked for again every 2 s, and a recent one is reloaded until it has
// been quiet for a minute, to pick up spans that came late.

import { useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { apmApi, type TraceAnswer } from "../apm-api";
import { DEFAULT_APM_RANGE, explorerPath, parseTraceView, servicePath, tracePath, type TraceView } from "../apm-state";
import { NavLink } from "../components/ApmParts";
import { FlameGraph, spanLabel } from "../components/FlameGraph";
import { SpanDetail } from "../components/SpanDetail";
import { Waterfall } from "../components/Waterfall";
import { layoutTrace, serviceColors } from "../flame";
import { formatCount, formatDuration, formatTimeMillis } from "../format";
import { Refresher } from "../refresher";
import { navigate } from "../router";
import { useLiveRefresh } from "../use-live-refresh";

/** How often a trace not found yet (or still recent) is asked for. */
export const TRACE_RETRY_MS = 2000;
/** A trace whose last span ended this long ago is taken as complete. */
const SETTLED_MS = 60_000;

export function ApmTracePage(props: { traceId: string; search: string }) {
  const view = useMemo(() => parseTraceView(props.traceId, props.search), [props.traceId, props.search]);
  const viewRef = useRef(view);
  viewRef.current = view;
  const [trace, setTrace] = useState<TraceAnswer | null>(null);
  const traceRef = useRef(trace);
  traceRef.current = trace;
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const setView = (patch: Partial<TraceView>, push = false) => navigate(tracePath({ ...viewRef.current, ...patch }), !push);

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        const have = traceRef.current;
        if (have && have.start_ms + have.duration / 1e6 < Date.now() - SETTLED_MS) return;
        try {
          const t = await apmApi.trace(props.traceId, signal);
          if (signal.aborted) return;
          // Only a trace that changed is laid out again.
          if (!have || have.span_count !== t.span_count || have.spans.length !== t.spans.length || have.errors !== t.errors) setTrace(t);
          setNotFound(false);
          setError(null);
        } catch (e) {
          if ((e as Error).name === "AbortError") return;
          if (e instanceof ApiError && e.status === 404) setNotFound(true);
          else setError((e as Error).message);
        }
      }, TRACE_RETRY_MS),
    [props.traceId],
  );
  useLiveRefresh(refresher);

  const layout = useMemo(() => (trace ? layoutTrace(trace.spans, trace.root_span_id) : null), [trace]);
  const colors = useMemo(() => serviceColors(trace ? [...(trace.services ?? []).map((s) => s.service), ...trace.spans.map((s) => s.service)] : []), [trace]);
  const selected = useMemo(() => {
    if (!layout || layout.nodes.length === 0) return 0;
    const want = view.span ?? trace?.root_span_id;
    const i = layout.nodes.findIndex((n) => n.span.span_id === want);
    return i >= 0 ? i : 0;
  }, [layout, view.span, trace]);
  const select = (i: number) => layout && setView({ span: layout.nodes[i].span.span_id });

  if (!trace || !layout) {
    return (
      <div class="apm">
        <TraceToolbar traceId={props.traceId} />
        {error && <div class="banner error">Cannot load the trace: {error}. Retrying every {TRACE_RETRY_MS / 1000} s.</div>}
        <div class="apm-body">
          {notFound ? (
            <div class="empty" data-not-found>
              <span class="spinner" />
              <strong>Trace {props.traceId} is not here yet</strong>
              Tracers send spans a few seconds after a request ends; this page asks again every {TRACE_RETRY_MS / 1000} s. A trace older than the server keeps traces is gone.
            </div>
          ) : !error ? (
            <div class="empty">
              <span class="spinner" /> Loading trace {props.traceId}…
            </div>
          ) : null}
        </div>
      </div>
    );
  }

  const root = layout.nodes.find((n) => n.span.span_id === trace.root_span_id)?.span ?? layout.nodes[0]?.span;
  const span = layout.nodes[selected]?.span;
  const services = trace.services ?? [];
  const servicesTime = services.reduce((a, s) => a + s.duration, 0);
  return (
    <div class="apm trace-page">
      <TraceToolbar traceId={props.traceId} decimalId={trace.trace_id} />
      {error && <div class="banner error">Cannot reload the trace: {error}.</div>}
      <div class="trace-summary" data-trace-id={trace.trace_id}>
        {root && (
          <h2>
            <span class="swatch" style={`background:${colors.get(root.service)}`} />
            {root.service} <span class="mono">{spanLabel(root)}</span>
          </h2>
        )}
        <span>
          <strong>{formatDuration(trace.duration)}</strong> total
        </span>
        <span data-span-count={trace.span_count}>{formatCount(trace.span_count)} spans</span>
        <span>
          {services.length} service{services.length === 1 ? "" : "s"}
        </span>
        {trace.errors > 0 && <span class="badge error">{formatCount(trace.errors)} error{trace.errors === 1 ? "" : "s"}</span>}
        <span class="muted">started {formatTimeMillis(trace.start_ms)}</span>
        <span class="muted mono" title="Trace id (low 64 bits, decimal) and the full 128-bit id">
          {trace.trace_id} · {trace.trace_id_128}
        </span>
      </div>
      <div class="body">
        <div class="main trace-main">
          <div class="subbar">
            <div class="tabs">
              <button class={view.tab === "flame" ? "active" : ""} onClick={() => setView({ tab: "flame" })}>
                Flame graph
              </button>
              <button class={view.tab === "waterfall" ? "active" : ""} onClick={() => setView({ tab: "waterfall" })}>
                Waterfall
              </button>
            </div>
            <div class="legend" aria-label="Services">
              {[...colors.entries()].map(([service, color]) => (
                <span key={service} class="legend-item" data-legend={service}>
                  <span class="swatch" style={`background:${color}`} />
                  {service}
                </span>
              ))}
            </div>
          </div>
          <div class="trace-content">
            {layout.nodes.length === 0 ? (
              <div class="empty">This trace has no spans.</div>
            ) : view.tab === "flame" ? (
              <FlameGraph layout={layout} colors={colors} selected={selected} onSelect={select} />
            ) : (
              <Waterfall layout={layout} colors={colors} selected={selected} onSelect={select} />
            )}
            <section class="services-involved">
              <h4>Services involved</h4>
              <table class="list">
                <thead>
                  <tr>
                    <th>Service</th>
                    <th class="num">Spans</th>
                    <th class="num">Errors</th>
                    <th class="num" title="Time in the service's own spans, not in the services it called">Time in service</th>
                    <th>Share of time</th>
                  </tr>
                </thead>
                <tbody>
                  {services.map((s) => {
                    const share = servicesTime > 0 ? s.duration / servicesTime : 0;
                    return (
                      <tr key={s.service} data-service={s.service}>
                        <td>
                          <span class="swatch" style={`background:${colors.get(s.service)}`} />
                          <NavLink href={servicePath({ service: s.service, range: DEFAULT_APM_RANGE })}>{s.service}</NavLink>
                        </td>
                        <td class="num">{formatCount(s.spans)}</td>
                        <td class={`num${s.errors > 0 ? " bad" : ""}`}>{formatCount(s.errors)}</td>
                        <td class="num">{formatDuration(s.duration)}</td>
                        <td>
                          <span class="share">
                            <span style={`width:${(share * 100).toFixed(1)}%;background:${colors.get(s.service)}`} />
                          </span>
                          {(share * 100).toFixed(1)}%
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </section>
          </div>
        </div>
        {span && <SpanDetail span={span} traceDuration={layout.duration} color={colors.get(span.service) ?? "#ccc"} range={DEFAULT_APM_RANGE} />}
      </div>
    </div>
  );
}

function TraceToolbar(props: { traceId: string; decimalId?: string }) {
  return (
    <div class="toolbar">
      <NavLink href={explorerPath({})}>← Traces</NavLink>
      <span class="muted">Trace {props.traceId}</span>
      <span class="spacer" />
      {props.decimalId && (
        <NavLink href={explorerPath({ query: `trace_id:${props.decimalId}`, entry: false })} title="Every span of this trace in the explorer">
          Spans in the explorer
        </NavLink>
      )}
    </div>
  );
}
