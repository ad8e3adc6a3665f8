// The side panel for one process: its command line, identity, relatives and tags, and charts of
// CPU, memory, IO and threads over the chosen range. Live while its host reports; from the
// history after the process has exited.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, type DetailAnswer, type Relative } from "../api";
import { formatAgo, formatBytes, formatCount, formatPct, formatPerSecond, formatRate, formatSpan, formatTime, formatValue } from "../format";
import { integrationsApi } from "../integrations-api";
import { configuredIntegrationOf, integrationMetricsQuery, metricCharts, type Integration, type MetricChart, type MetricUnit } from "../integrations-state";
import { metricsApi } from "../metrics-api";
import { Refresher } from "../refresher";
import { tagTerm } from "../query-edit";
import { RANGES } from "../url-state";
import { useLiveRefresh } from "../use-live-refresh";
import { LINE_COLORS, TimeChart } from "./TimeChart";

/** How the Integration metrics tab shows each unit. */
const METRIC_FORMATS: Record<MetricUnit, (v: number) => string> = {
  number: formatValue,
  per_second: formatPerSecond,
  bytes: formatBytes,
  bytes_per_second: formatRate,
  milliseconds: (v) => `${formatValue(v)} ms`,
  fraction: formatPct,
};

/** The integration the process runs (configured on its host), and its key metrics over the range. */
interface IntegrationData {
  integration: Integration;
  charts: MetricChart[] | null;
  from: number;
  to: number;
}

/** How often the open panel reloads. */
const DETAIL_REFRESH_MS = 5000;

/** The filter for a `key:value` tag; null for a bare tag, which the search cannot name as a tag. */
function tagFilter(tag: string): string | null {
  const colon = tag.indexOf(":");
  return colon > 0 ? tagTerm(tag.slice(0, colon), tag.slice(colon + 1)) : null;
}

function RelativeRow(props: { r: Relative; onOpen: (r: Relative) => void }) {
  return (
    <div
      class="relative"
      role="button"
      tabIndex={0}
      data-pid={props.r.pid}
      onClick={() => props.onOpen(props.r)}
      onKeyDown={(e) => e.key === "Enter" && props.onOpen(props.r)}
      title={props.r.command}
    >
      <span class="pid">{props.r.pid}</span>
      <span style="width:70px;overflow:hidden;text-overflow:ellipsis">{props.r.user}</span>
      <span class="cmd">{props.r.command}</span>
      <span style="width:54px;text-align:right">{formatPct(props.r.cpu_total_pct)}</span>
      <span style="width:70px;text-align:right">{formatBytes(props.r.rss)}</span>
    </div>
  );
}

export function DetailPanel(props: {
  host: string;
  pid: number;
  start: number;
  range: string;
  paused: boolean;
  onRange: (range: string) => void;
  onOpen: (host: string, pid: number, start: number) => void;
  onClose: () => void;
  onFilter: (term: string) => void;
}) {
  const [detail, setDetail] = useState<DetailAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [integration, setIntegration] = useState<IntegrationData | null>(null);
  const [tab, setTab] = useState<"process" | "integration">("process");
  const rangeMs = (RANGES.find((r) => r.name === props.range) ?? RANGES[1]).ms;

  // A new process clears the panel; a new range keeps the old charts until the new ones come.
  useEffect(() => {
    setDetail(null);
    setError(null);
    setIntegration(null);
    setTab("process");
  }, [props.host, props.pid, props.start]);

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
      const to = Date.now();
      try {
        const [d, integrations] = await Promise.all([
          api.detail({ host: props.host, pid: props.pid, start: props.start, from: to - rangeMs, to, points: 360 }, signal),
          // The Integration metrics tab is a bonus: the panel works without it.
          integrationsApi.list(props.host, signal).catch((e) => {
            if ((e as Error).name === "AbortError") throw e;
            return null;
          }),
        ]);
        setDetail(d);
        setError(null);
        const found = integrations && d.live ? configuredIntegrationOf(integrations.integrations, props.pid) : null;
        if (!found || found.metrics.length === 0) {
          setIntegration(found ? { integration: found, charts: [], from: to - rangeMs, to } : null);
        } else {
          const answer = await metricsApi.query({ from: to - rangeMs, to, query: integrationMetricsQuery(found, props.host) }, signal).catch((e) => {
            if ((e as Error).name === "AbortError") throw e;
            return null;
          });
          setIntegration({ integration: found, charts: answer ? metricCharts(found, answer) : null, from: to - rangeMs, to });
        }
      } catch (e) {
        if ((e as Error).name === "AbortError") return;
        setError(e instanceof ApiError ? e.message : String(e));
      }
      }, DETAIL_REFRESH_MS),
    [props.host, props.pid, props.start, rangeMs],
  );
  useLiveRefresh(refresher);
  useEffect(() => {
    if (refresher.isPaused !== props.paused) refresher.setPaused(props.paused);
  }, [refresher, props.paused]);

  const charts = useMemo(() => {
    const s = detail?.history.samples ?? [];
    const times = s.map((x) => x.ts_ms);
    return {
      times,
      cpu: [
        { label: "total", color: "#632ca6", values: s.map((x) => x.cpu_total_pct) },
        { label: "user", color: "#1f77b4", values: s.map((x) => x.cpu_user_pct) },
        { label: "system", color: "#d62728", values: s.map((x) => x.cpu_system_pct) },
      ],
      mem: [
        { label: "RSS", color: "#632ca6", values: s.map((x) => x.rss) },
        { label: "VMS", color: "#8c8c99", values: s.map((x) => x.vms) },
      ],
      io: [
        { label: "read", color: "#1f77b4", values: s.map((x) => x.io_read_bytes_rate) },
        { label: "write", color: "#ff7f0e", values: s.map((x) => x.io_write_bytes_rate) },
      ],
      threads: [
        { label: "threads", color: "#632ca6", values: s.map((x) => x.threads) },
        { label: "open files", color: "#2ca02c", values: s.map((x) => x.open_fds) },
      ],
    };
  }, [detail]);

  const p = detail?.process;
  const open = (r: Relative) => props.onOpen(props.host, r.pid, r.create_time_ms);
  return (
    <aside class="panel" aria-label="Process details">
      <header>
        <h3>
          {p ? p.name || `pid ${props.pid}` : `pid ${props.pid}`} <span style="color:var(--muted);font-weight:400">pid {props.pid} on {props.host}</span>
        </h3>
        <button onClick={props.onClose} title="Close (Esc)">
          ✕
        </button>
      </header>
      {error && <div class="banner error">{error}</div>}
      {!detail && !error && (
        <section>
          <span class="spinner" /> Loading process…
        </section>
      )}
      {p && detail && integration && (
        <div class="tabs panel-tabs" role="tablist" aria-label="Panel">
          <button role="tab" class={tab === "process" ? "active" : ""} aria-selected={tab === "process"} onClick={() => setTab("process")}>
            Process
          </button>
          <button role="tab" class={tab === "integration" ? "active" : ""} aria-selected={tab === "integration"} data-tab="integration-metrics" onClick={() => setTab("integration")}>
            Integration metrics
          </button>
        </div>
      )}
      {p && detail && integration && tab === "integration" && (
        <IntegrationMetrics data={integration} host={props.host} history={detail.history} cpu={charts.cpu.slice(0, 1)} mem={charts.mem.slice(0, 1)} times={charts.times} range={props.range} onRange={props.onRange} />
      )}
      {p && detail && (!integration || tab === "process") && (
        <>
          <section>
            <h4>Command line</h4>
            <div class="cmdline" data-field="cmdline">
              {p.command}
            </div>
            {!detail.live && (
              <div class="banner warn" style="margin-top:8px">
                Not running now (or its host stopped reporting): last seen {formatTime(detail.last_seen_ms)}, from history.
              </div>
            )}
          </section>
          <section>
            <dl>
              <dt>Executable</dt>
              <dd class="mono">{p.exe || "—"}</dd>
              <dt>Working dir</dt>
              <dd class="mono">{p.cwd || "—"}</dd>
              <dt>User</dt>
              <dd>
                <a href="#" onClick={(e) => (e.preventDefault(), props.onFilter(tagTerm("user", p.user)))}>
                  {p.user}
                </a>
              </dd>
              <dt>Host</dt>
              <dd>{p.host}</dd>
              <dt>Started</dt>
              <dd>
                {formatTime(p.create_time_ms)} ({formatSpan(Date.now() - p.create_time_ms)} ago)
              </dd>
              <dt>State</dt>
              <dd>{p.state}</dd>
              <dt>Container</dt>
              <dd class="mono">{p.container_id ?? "—"}</dd>
              <dt>Now</dt>
              <dd>
                CPU {formatPct(p.cpu_total_pct as number)} · RSS {formatBytes(p.rss as number)} · {formatCount(p.threads as number)} thread{p.threads === 1 ? "" : "s"} · IO{" "}
                {formatRate(p.io_read_bytes_rate as number)} read, {formatRate(p.io_write_bytes_rate as number)} write
              </dd>
              {detail.live && (
                <>
                  <dt>Collected</dt>
                  <dd>{formatAgo(detail.collected_at_ms, Date.now())}</dd>
                </>
              )}
            </dl>
          </section>
          <section>
            <h4>Tags</h4>
            {p.tags.length === 0 && <span style="color:var(--muted)">none</span>}
            {p.tags.map((t) => {
              const filter = tagFilter(t);
              return filter ? (
                <button class="tag" key={t} title={`Filter on ${filter}`} onClick={() => props.onFilter(filter)}>
                  {t}
                </button>
              ) : (
                <span class="tag" key={t}>
                  {t}
                </span>
              );
            })}
          </section>
          <section>
            <h4>Parent</h4>
            {detail.parent ? <RelativeRow r={detail.parent} onOpen={open} /> : <span style="color:var(--muted)">{p.ppid === 0 ? "none (started by the kernel)" : `pid ${p.ppid} (not in the latest run)`}</span>}
            <h4 style="margin-top:10px">Children ({detail.children.length})</h4>
            {detail.children.length === 0 && <span style="color:var(--muted)">none</span>}
            {detail.children.map((c) => (
              <RelativeRow key={c.pid} r={c} onOpen={open} />
            ))}
          </section>
          <section>
            <h4 style="display:flex;align-items:center;gap:8px">
              History
              <span class="tabs" style="margin-left:auto">
                {RANGES.map((r) => (
                  <button key={r.name} class={r.name === props.range ? "active" : ""} onClick={() => props.onRange(r.name)}>
                    {r.name}
                  </button>
                ))}
              </span>
            </h4>
            {detail.history.samples.length === 0 ? (
              <div class="none" style="color:var(--muted)">No history in this range yet: the server records a sample every 10 s.</div>
            ) : (
              <>
                <TimeChart title="CPU (% of one core)" from={detail.history.from_ms} to={detail.history.to_ms} times={charts.times} series={charts.cpu} format={formatPct} />
                <TimeChart title="Memory" from={detail.history.from_ms} to={detail.history.to_ms} times={charts.times} series={charts.mem} format={formatBytes} />
                <TimeChart title="Disk IO" from={detail.history.from_ms} to={detail.history.to_ms} times={charts.times} series={charts.io} format={formatRate} />
                <TimeChart title="Threads and open files" from={detail.history.from_ms} to={detail.history.to_ms} times={charts.times} series={charts.threads} format={(v) => formatCount(Math.round(v))} />
              </>
            )}
          </section>
        </>
      )}
    </aside>
  );
}

/** The Integration metrics tab: the integration's key metrics on the process's host, beside the
 * process's own CPU and memory, over the panel's range. */
function IntegrationMetrics(props: {
  data: IntegrationData;
  host: string;
  history: DetailAnswer["history"];
  cpu: Array<{ label: string; color: string; values: Array<number | null> }>;
  mem: Array<{ label: string; color: string; values: Array<number | null> }>;
  times: number[];
  range: string;
  onRange: (range: string) => void;
}) {
  const { integration, charts, from, to } = props.data;
  return (
    <section data-integration-metrics={integration.id}>
      <h4 style="display:flex;align-items:center;gap:8px">
        {integration.name} on {props.host}
        <span class="tabs" style="margin-left:auto">
          {RANGES.map((r) => (
            <button key={r.name} class={r.name === props.range ? "active" : ""} onClick={() => props.onRange(r.name)}>
              {r.name}
            </button>
          ))}
        </span>
      </h4>
      <div class="muted" style="margin-bottom:6px">
        From the <code>{integration.id}</code> check configured on this host, beside this process's CPU and memory.
      </div>
      <TimeChart title="Process CPU (% of one core)" from={props.history.from_ms} to={props.history.to_ms} times={props.times} series={props.cpu} format={formatPct} />
      <TimeChart title="Process memory (RSS)" from={props.history.from_ms} to={props.history.to_ms} times={props.times} series={props.mem} format={formatBytes} />
      {charts == null ? (
        <div class="banner error">Cannot load the integration's metrics; retrying.</div>
      ) : charts.length === 0 ? (
        <div class="muted">This integration has no key metrics listed.</div>
      ) : (
        charts.map((c) => (
          <TimeChart
            key={c.metric.name}
            title={`${c.metric.label} (${c.metric.name})`}
            from={from}
            to={to}
            times={c.times}
            series={c.lines.map((l, i) => ({ label: l.label, color: LINE_COLORS[i % LINE_COLORS.length], values: l.values }))}
            format={METRIC_FORMATS[c.metric.unit]}
            negative
            spanGaps
            emptyText={`No ${c.metric.name} from this host in this range.`}
          />
        ))
      )}
    </section>
  );
}
