// One host's page: what its agent says about it (version, OS, tags, its checks and their
// status), its latest readings, and charts of the agent's system checks over the range: CPU
// stacked by kind, load, memory, swap, disk usage and IO by device, network by interface. From
// `/api/ui/hosts` and `/api/v1/query`; reloaded every 10 s while the page is visible.

import { useMemo } from "preact/hooks";
import { api, type Host, type HostCheck } from "../api";
import { LoadErrorBanner, Loading, NavLink, RangePicker, RefreshStatus, Stat } from "../components/ApmParts";
import { TagList } from "../components/Tags";
import { LINE_COLORS, TimeChart } from "../components/TimeChart";
import { formatAgo, formatBytes, formatCount, formatPct, formatRate, formatSpan, formatTime, formatValue } from "../format";
import {
  chartsFromAnswer,
  checkRunBadge,
  HOST_PAGE_READINGS,
  hostChartsQuery,
  hostPath,
  hostProcessesPath,
  hostReadings,
  hostScope,
  latestByHost,
  parseHostView,
  readingsQuery,
  READINGS_WINDOW_MS,
  type ChartData,
  type ChartUnit,
  type HostReadings,
} from "../host-state";
import { metricsApi } from "../metrics-api";
import { METRIC_RANGES, metricRangeMs } from "../metrics-state";
import { navigate } from "../router";
import { usePolling } from "../use-live-refresh";

export const HOST_REFRESH_MS = 10_000;

/** A byte format that leaves fractions of a byte blank (an axis over all-zero swap ticks at 0.5). */
const wholeBytes = (format: (v: number) => string) => (v: number) => (v > 0 && v < 1 ? "" : format(v));

/** How a chart's axis and legend show its values. */
const FORMATS: Record<ChartUnit, (v: number) => string> = {
  pct: formatPct,
  fraction: formatPct,
  number: formatValue,
  mib: wholeBytes(formatBytes),
  kib_s: wholeBytes(formatRate),
  bytes_s: wholeBytes(formatRate),
};

interface Loaded {
  /** The host as the host list has it; null when no agent of that name has reported. */
  host: Host | null;
  charts: ChartData[];
  readings: HostReadings;
  from: number;
  to: number;
}

export function HostPage(props: { hostname: string; search: string }) {
  const view = useMemo(() => parseHostView(props.hostname, props.search), [props.hostname, props.search]);

  const polled = usePolling<Loaded>(
    async (signal) => {
      const to = Date.now();
      const from = to - metricRangeMs(view.range);
      const [list, charts, latest] = await Promise.all([
        api.hosts(signal),
        metricsApi.query({ from, to, query: hostChartsQuery(view.hostname) }, signal),
        metricsApi.query({ from: to - READINGS_WINDOW_MS, to, query: readingsQuery(HOST_PAGE_READINGS, hostScope(view.hostname)) }, signal),
      ]);
      return {
        host: list.hosts.find((h) => h.hostname === view.hostname) ?? null,
        charts: chartsFromAnswer(charts),
        readings: hostReadings(latestByHost(latest, HOST_PAGE_READINGS).get(view.hostname)),
        from,
        to,
      };
    },
    HOST_REFRESH_MS,
    `${view.hostname}|${view.range}`,
  );
  // Another range keeps the charts until the new ones come (another host is a fresh page).
  const data = polled.data;
  const host = data?.host ?? null;
  const hasMetrics = data?.charts.some((c) => c.lines.length > 0) ?? false;

  return (
    <div class="apm host-page">
      <div class="toolbar">
        <NavLink href="/hosts">← Hosts</NavLink>
        <h2 data-host={view.hostname}>{view.hostname}</h2>
        {host?.stale && <span class="badge error">not reporting</span>}
        <RangePicker range={view.range} ranges={METRIC_RANGES} onChange={(range) => navigate(hostPath({ ...view, range }))} />
        <NavLink href={hostProcessesPath(view.hostname)} class="button processes-link">
          {host?.processes ? `${formatCount(host.processes.processes)} processes` : "Processes"}
        </NavLink>
        <span class="spacer" />
        <RefreshStatus updatedAt={polled.updatedAt} failing={polled.error != null} />
      </div>
      <LoadErrorBanner what="the host" error={polled.error} everyMs={HOST_REFRESH_MS} />
      <div class="apm-body">
        {data == null ? (
          !polled.error && <Loading what={view.hostname} />
        ) : data.host == null && !hasMetrics ? (
          <div class="empty" data-empty="no-host">
            <strong>No host named {view.hostname} has reported</strong>
            No agent of that name has sent anything to this server, and there are no system metrics tagged <code>{hostScope(view.hostname)}</code> in the last{" "}
            {view.range}. <NavLink href="/hosts">See all hosts</NavLink>
          </div>
        ) : (
          <>
            {host ? (
              <HostFacts host={host} now={polled.updatedAt ?? Date.now()} />
            ) : (
              <div class="banner warn" data-unknown-host>
                No agent named {view.hostname} has reported to this server: these are the metrics tagged <code>{hostScope(view.hostname)}</code>.
              </div>
            )}
            <Readings readings={data.readings} />
            {hasMetrics ? (
              <div class="charts host-charts">
                {data.charts.map((c) => (
                  <TimeChart
                    key={c.chart.id}
                    title={c.chart.title}
                    from={data.from}
                    to={data.to}
                    times={c.times}
                    series={c.lines.map((l, i) => ({ label: l.label, color: LINE_COLORS[i % LINE_COLORS.length], values: l.values }))}
                    format={FORMATS[c.chart.unit]}
                    height={150}
                    stacked={c.chart.stacked}
                    spanGaps
                    emptyText="No points in this range."
                  />
                ))}
              </div>
            ) : (
              <div class="empty" data-empty="no-metrics">
                <strong>No system metrics from this host yet</strong>
                The agent's core checks report every 15 s (CPU from their second run on); this page reloads every {HOST_REFRESH_MS / 1000} s. If the agent has run for
                a while, pick a longer range, or check that it is a dogwatch agent sending to this server.
              </div>
            )}
            <h3>Checks</h3>
            <ChecksTable checks={host?.checks} />
          </>
        )}
      </div>
    </div>
  );
}

/** What the agent says about its host: version, OS, when it was heard from, and its tags. */
function HostFacts(props: { host: Host; now: number }) {
  const h = props.host;
  const os = h.processes?.os || h.os;
  return (
    <dl class="host-facts">
      <div>
        <dt>Agent</dt>
        <dd data-fact="agent">{h.agent_version || h.processes?.agent_version || "—"}</dd>
      </div>
      <div>
        <dt>OS</dt>
        <dd>{os || "—"}</dd>
      </div>
      <div>
        <dt>Last seen</dt>
        <dd title={formatTime(h.last_seen_ms)} class={h.stale ? "bad" : ""}>
          {formatAgo(h.last_seen_ms, props.now)}
        </dd>
      </div>
      <div>
        <dt>Reporting since</dt>
        <dd>{formatTime(h.first_seen_ms)}</dd>
      </div>
      <div class="wide">
        <dt>Tags</dt>
        <dd data-fact="tags">
          <TagList tags={h.tags} />
        </dd>
      </div>
    </dl>
  );
}

/** The latest readings (the last point of the last few minutes), "—" where there is none. */
function Readings(props: { readings: HostReadings }) {
  const r = props.readings;
  return (
    <div class="stats" data-readings>
      <Stat label="CPU" value={formatPct(r.cpuPct)} bad={(r.cpuPct ?? 0) >= 90} title="100 % − idle, of all cores" />
      <Stat label="Load (1 min)" value={formatValue(r.load1)} />
      <Stat label="Load per core" value={formatValue(r.loadNorm1)} bad={(r.loadNorm1 ?? 0) >= 1} />
      <Stat label="Memory used" value={formatPct(r.memPct)} bad={(r.memPct ?? 0) >= 90} title="100 % − usable" />
      <Stat label="Memory" value={formatBytes(r.memTotalBytes)} />
      <Stat label="Cores" value={formatCount(r.cores)} />
      <Stat label="Uptime" value={r.uptimeS == null ? "—" : formatSpan(r.uptimeS * 1000)} />
    </div>
  );
}

const BADGE_ORDER = ["critical", "warning", "unknown", "ok"];

/** The agent's checks on the host, failing ones first, with the error of a failed run. */
function ChecksTable(props: { checks: HostCheck[] | null | undefined }) {
  if (props.checks == null) return <div class="empty small">This host's agent does not report its checks (an older agent).</div>;
  if (props.checks.length === 0) return <div class="empty small">The agent has reported no checks yet.</div>;
  const checks = [...props.checks].sort(
    (a, b) => BADGE_ORDER.indexOf(checkRunBadge(a.status)) - BADGE_ORDER.indexOf(checkRunBadge(b.status)) || a.check.localeCompare(b.check) || a.instance_id.localeCompare(b.instance_id),
  );
  return (
    <table class="list host-checks">
      <thead>
        <tr>
          <th>Status</th>
          <th>Check</th>
          <th>Instance</th>
          <th>Error</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c) => {
          const badge = checkRunBadge(c.status);
          return (
            <tr key={c.instance_id || c.check} data-check={c.check} data-status={badge}>
              <td>
                <span class={`status-badge ${badge}`}>{c.status}</span>
              </td>
              <td class="strong">{c.check}</td>
              <td class="mono muted">{c.instance_id || "—"}</td>
              <td class="wrap message">{c.error ? <span class="error-text">{c.error}</span> : <span class="muted">—</span>}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
