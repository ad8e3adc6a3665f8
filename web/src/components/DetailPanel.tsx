// The side panel for one process: its command line, identity, relatives and tags, and charts of
// CPU, memory, IO and threads over the chosen range. Live while its host reports; from the
// history after the process has exited.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, type DetailAnswer, type Relative } from "../api";
import { formatAgo, formatBytes, formatCount, formatPct, formatRate, formatSpan, formatTime } from "../format";
import { Refresher } from "../refresher";
import { tagTerm } from "../query-edit";
import { RANGES } from "../url-state";
import { useLiveRefresh } from "../use-live-refresh";
import { TimeChart } from "./TimeChart";

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
  const rangeMs = (RANGES.find((r) => r.name === props.range) ?? RANGES[1]).ms;

  // A new process clears the panel; a new range keeps the old charts until the new ones come.
  useEffect(() => {
    setDetail(null);
    setError(null);
  }, [props.host, props.pid, props.start]);

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
      const to = Date.now();
      try {
        const d = await api.detail({ host: props.host, pid: props.pid, start: props.start, from: to - rangeMs, to, points: 360 }, signal);
        setDetail(d);
        setError(null);
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
      {p && detail && (
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
