// The Hosts page: every host that has reported, with its agent version, when it was last
// heard from, its CPU %, load and memory % from the agent's system checks (one grouped query
// per metric for all hosts), and its processes' count, CPU and memory. Click a host to open its
// page. Reloaded every 5 s.

import { useMemo, useState } from "preact/hooks";
import { api, type Host } from "../api";
import { NavLink } from "../components/ApmParts";
import { formatAgo, formatBytes, formatCount, formatPct, formatValue } from "../format";
import { HOSTS_PAGE_READINGS, hostPath, hostProcessesPath, hostReadings, latestByHost, readingsQuery, READINGS_WINDOW_MS, type ReadingKey } from "../host-state";
import { metricsApi } from "../metrics-api";
import { DEFAULT_METRIC_RANGE } from "../metrics-state";
import { Refresher } from "../refresher";
import { useLiveRefresh } from "../use-live-refresh";

const HOSTS_REFRESH_MS = 5000;

function Bar(props: { fraction: number }) {
  const pct = Math.max(0, Math.min(1, props.fraction)) * 100;
  return (
    <span class="bar">
      <span style={`width:${pct.toFixed(1)}%`} />
    </span>
  );
}

/** A percentage with its bar, or "—" when there is no reading. */
function PctCell(props: { pct: number | null }) {
  if (props.pct == null) return <span class="muted">—</span>;
  return (
    <>
      <Bar fraction={props.pct / 100} />
      {formatPct(props.pct)}
    </>
  );
}

export function HostsPage() {
  const [hosts, setHosts] = useState<Host[] | null>(null);
  const [readings, setReadings] = useState<Map<string, Partial<Record<ReadingKey, number>>>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        try {
          const to = Date.now();
          const [a, latest] = await Promise.all([
            api.hosts(signal),
            // Without the readings the list is still worth showing: their columns keep their last values.
            metricsApi.query({ from: to - READINGS_WINDOW_MS, to, query: readingsQuery(HOSTS_PAGE_READINGS) }, signal).catch((e) => {
              if ((e as Error).name === "AbortError") throw e;
              return null;
            }),
          ]);
          setHosts(a.hosts);
          if (latest) setReadings(latestByHost(latest, HOSTS_PAGE_READINGS));
          setError(null);
          setNow(Date.now());
        } catch (e) {
          if ((e as Error).name !== "AbortError") setError((e as Error).message);
        }
      }, HOSTS_REFRESH_MS),
    [],
  );
  useLiveRefresh(refresher);

  const stale = hosts?.filter((h) => h.stale || h.processes?.stale).length ?? 0;
  return (
    <div class="hosts">
      <h2 style="margin:0 0 10px;font-size:16px">
        Hosts {hosts && <span style="color:var(--muted);font-weight:400">({formatCount(hosts.length)}{stale > 0 ? `, ${stale} not reporting` : ""})</span>}
      </h2>
      {error && <div class="banner error">Cannot load hosts: {error}. Retrying.</div>}
      {hosts == null && !error && (
        <div class="empty">
          <span class="spinner" /> Loading hosts…
        </div>
      )}
      {hosts?.length === 0 && (
        <div class="empty">
          <strong>No host has reported yet</strong>
          Start <code>dogwatch agent</code> on a host with <code>dd_url</code> pointing here, or run <code>dogwatch up</code>.
        </div>
      )}
      {hosts && hosts.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Host</th>
              <th>Agent</th>
              <th>OS</th>
              <th>Last seen</th>
              <th title="100 % − idle, of all cores (system.cpu.idle)">CPU %</th>
              <th title="1-minute load average (system.load.1), and per core (system.load.norm.1)">Load</th>
              <th title="100 % − usable (system.mem.pct_usable)">Memory %</th>
              <th style="text-align:right">Processes</th>
              <th title="The CPU of all the host's processes, of its cores × 100 %">Processes' CPU</th>
              <th title="The RSS of all the host's processes, of its memory">Processes' RSS</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => {
              const p = h.processes;
              const isStale = h.stale || (p?.stale ?? false);
              const r = hostReadings(readings.get(h.hostname));
              return (
                <tr key={h.hostname} class={isStale ? "stale" : ""} data-host={h.hostname}>
                  <td>
                    <NavLink href={hostPath({ hostname: h.hostname, range: DEFAULT_METRIC_RANGE })} class="host-link">
                      {h.hostname}
                    </NavLink>
                    {isStale && <span class="badge">{h.stale ? "not reporting" : "processes stale"}</span>}
                    {p?.realtime && !isStale && <span class="badge rt">real-time</span>}
                  </td>
                  <td>{h.agent_version || p?.agent_version || "—"}</td>
                  <td class="os">{p?.os || h.os || "—"}</td>
                  <td title={new Date(h.last_seen_ms).toISOString()}>{formatAgo(h.last_seen_ms, now)}</td>
                  <td data-reading="cpu">
                    <PctCell pct={r.cpuPct} />
                  </td>
                  <td data-reading="load" class="nowrap">
                    {r.load1 == null ? <span class="muted">—</span> : formatValue(r.load1)}
                    {r.loadNorm1 != null && <span style="color:var(--muted)"> ({formatValue(r.loadNorm1)}/core)</span>}
                  </td>
                  <td data-reading="memory">
                    <PctCell pct={r.memPct} />
                  </td>
                  <td class="num">{p ? <NavLink href={hostProcessesPath(h.hostname)} label={`${formatCount(p.processes)} processes on ${h.hostname}`}>{formatCount(p.processes)}</NavLink> : "—"}</td>
                  <td>
                    {p ? (
                      <>
                        <Bar fraction={p.cpu_count > 0 ? p.cpu_total_pct / (100 * p.cpu_count) : 0} />
                        {formatPct(p.cpu_total_pct)}
                        {p.cpu_count > 0 && <span style="color:var(--muted)"> of {p.cpu_count * 100}%</span>}
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>
                    {p ? (
                      <>
                        <Bar fraction={p.memory_total > 0 ? p.rss_total / p.memory_total : 0} />
                        {formatBytes(p.rss_total)}
                        {p.memory_total > 0 && <span style="color:var(--muted)"> of {formatBytes(p.memory_total)}</span>}
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td class="mono" style="white-space:normal">{h.tags.join(" ") || "—"}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
