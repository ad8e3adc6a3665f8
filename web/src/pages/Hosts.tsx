// The Hosts page: every host that has reported, with its agent version, when it was last
// heard from, and its processes' count, CPU and memory. Reloaded every 5 s.

import { useMemo, useState } from "preact/hooks";
import { api, type Host } from "../api";
import { formatAgo, formatBytes, formatCount, formatPct } from "../format";
import { Refresher } from "../refresher";
import { navigate } from "../router";
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

export function HostsPage() {
  const [hosts, setHosts] = useState<Host[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        try {
          const a = await api.hosts(signal);
          setHosts(a.hosts);
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
              <th style="text-align:right">Processes</th>
              <th>CPU (all processes)</th>
              <th>Memory (RSS of all processes)</th>
              <th>Tags</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => {
              const p = h.processes;
              const isStale = h.stale || (p?.stale ?? false);
              return (
                <tr key={h.hostname} class={isStale ? "stale" : ""} data-host={h.hostname}>
                  <td>
                    <a
                      href={`/processes?q=${encodeURIComponent(`host:${h.hostname}`)}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(`/processes?q=${encodeURIComponent(`host:${h.hostname}`)}`);
                      }}
                    >
                      {h.hostname}
                    </a>
                    {isStale && <span class="badge">{h.stale ? "not reporting" : "processes stale"}</span>}
                    {p?.realtime && !isStale && <span class="badge rt">real-time</span>}
                  </td>
                  <td>{h.agent_version || p?.agent_version || "—"}</td>
                  <td>{p?.os || h.os || "—"}</td>
                  <td title={new Date(h.last_seen_ms).toISOString()}>{formatAgo(h.last_seen_ms, now)}</td>
                  <td class="num">{p ? formatCount(p.processes) : "—"}</td>
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
