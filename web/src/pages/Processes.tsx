// The Live Processes page: search bar, facets, and the matching processes as a table, as
// groups or as a scatter plot, with a side panel for one process. Everything it shows is
// reloaded every 2 s while the page is visible; each reload renews the real-time watch, which
// keeps the agents collecting every 2 s.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, type Facet, type Group, type QueryError, type Row, type ScatterPoint, type StaleHost } from "../api";
import { DetailPanel } from "../components/DetailPanel";
import { FacetPanel } from "../components/FacetPanel";
import { GroupByMenu } from "../components/GroupByMenu";
import { groupQuery, GroupTable } from "../components/GroupTable";
import { Menu } from "../components/Menu";
import { Cells, HeaderRow, ProcessTable } from "../components/ProcessTable";
import { SavedViews } from "../components/SavedViews";
import { ScatterPlot } from "../components/ScatterPlot";
import { SearchBar } from "../components/SearchBar";
import { ViewsMenu } from "../components/ViewsMenu";
import { SCATTER_BY_PROCESS, ScatterControls } from "../components/ScatterControls";
import { CORE_FACETS, FIELDS } from "../fields";
import { formatAgo, formatClock, formatCount } from "../format";
import { addTerm, toggleTag } from "../query-edit";
import { Refresher } from "../refresher";
import { navigate } from "../router";
import { useLiveRefresh } from "../use-live-refresh";
import { parseProcessKey, parseView, processKey, savedState, viewFromSaved, viewSearch, type ProcessView } from "../url-state";
import { covers, pageAround, type RowWindow } from "../virtual";

/** How often the page reloads while visible. */
export const REFRESH_MS = 2000;
/** Rows fetched beyond each side of the rows in view. */
const ROW_MARGIN = 100;
/** Facet values listed per key. */
const FACET_VALUES = 10;
/** Processes listed under a clicked scatter dot. */
const PICK_LIMIT = 200;

interface Rows {
  rows: Row[];
  offset: number;
  total: number;
}

interface Meta {
  hosts: number;
  total: number;
  stale: StaleHost[];
  collectedAt: number | null;
}

function useNow(everyMs: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), everyMs);
    return () => window.clearInterval(t);
  }, [everyMs]);
  return now;
}

export function ProcessesPage(props: { search: string }) {
  const view = useMemo(() => parseView(props.search), [props.search]);
  const viewRef = useRef(view);
  viewRef.current = view;

  const [rows, setRows] = useState<Rows | null>(null);
  const [facets, setFacets] = useState<Facet[] | null>(null);
  const [groups, setGroups] = useState<{ groups: Group[]; total: number } | null>(null);
  const [points, setPoints] = useState<ScatterPoint[] | null>(null);
  const [meta, setMeta] = useState<Meta | null>(null);
  const [queryError, setQueryError] = useState<{ error: QueryError; query: string } | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);
  const [paused, setPaused] = useState(false);
  const [picked, setPicked] = useState<{ label: string; query: string; rows: Row[] | null; total: number; error: string | null } | null>(null);
  const [currentView, setCurrentView] = useState<number | null>(null);
  const wanted = useRef({ first: 0, last: 60 });
  const rowsRef = useRef<Rows | null>(null);
  rowsRef.current = rows;
  const now = useNow(1000);

  const setView = (patch: Partial<ProcessView>, push = true) => navigate("/processes" + viewSearch({ ...viewRef.current, ...patch }), !push);

  /** One reload of everything the current view shows. */
  const load = async (signal: AbortSignal) => {
    const v = viewRef.current;
    const listing = v.tab === "table" && v.by.length === 0;
    const asked = wanted.current;
    const page = pageAround(asked.first, asked.last, ROW_MARGIN);
    try {
      const [f, list, g, s] = await Promise.all([
        api.facets(v.query, FACET_VALUES, signal),
        listing ? listPage(v, page, signal) : null,
        v.tab === "table" && v.by.length > 0 ? api.groups({ query: v.query, by: v.by, metrics: ["cpu", "rss"], sort: "count", limit: 1000 }, signal) : null,
        v.tab === "scatter" ? api.scatter({ query: v.query, x: v.x, y: v.y, agg: v.agg, by: v.dots === SCATTER_BY_PROCESS ? "none" : v.dots, limit: 2000 }, signal) : null,
      ]);
      if (signal.aborted) return;
      setFacets(f.facets);
      setMeta({ hosts: f.hosts, total: f.total, stale: f.stale_hosts, collectedAt: f.collected_at_ms });
      // A scroll during the reload fetched its own rows; keep this page only if it still covers the view.
      const now = wanted.current;
      if (list && (now === asked || covers({ offset: list.offset, count: list.processes.length }, now.first, now.last, list.total))) {
        setRows({ rows: list.processes, offset: list.offset, total: list.total });
      }
      if (g) setGroups({ groups: g.groups, total: g.total_groups });
      if (s) setPoints(s.points);
      setQueryError(null);
      setLoadError(null);
      setUpdatedAt(Date.now());
      setRefreshKey((k) => k + 1);
    } catch (e) {
      if ((e as Error).name === "AbortError") return;
      if (e instanceof ApiError && e.queryError) setQueryError({ error: e.queryError, query: v.query });
      else setLoadError((e as Error).message);
    }
  };

  const refresher = useMemo(() => new Refresher((signal) => load(signal), REFRESH_MS), []);
  useLiveRefresh(refresher);

  // What the server computes changed: reload now, from the top of the table.
  const dataKey = [view.query, view.sort, view.order, view.columns.join(), view.by.join(), view.tab, view.x, view.y, view.agg, view.dots].join("\u0000");
  const firstKey = useRef(dataKey);
  useEffect(() => {
    if (firstKey.current === dataKey) return;
    firstKey.current = "";
    wanted.current = { first: 0, last: 60 };
    rowFetch.current?.abort();
    pickFetch.current?.abort();
    setPicked(null);
    refresher.now();
  }, [dataKey]);

  useEffect(() => {
    if (rows && rows.rows.length > 0 && !performance.getEntriesByName("dogwatch:first-rows").length) performance.mark("dogwatch:first-rows");
  }, [rows]);

  // Scrolling past the rows held fetches the rows now in view.
  const rowFetch = useRef<AbortController | null>(null);
  const pickFetch = useRef<AbortController | null>(null);
  const needRows = (first: number, last: number) => {
    wanted.current = { first, last };
    const held = rowsRef.current;
    if (!held || covers({ offset: held.offset, count: held.rows.length }, first, last, held.total)) return;
    rowFetch.current?.abort();
    const controller = new AbortController();
    rowFetch.current = controller;
    const v = viewRef.current;
    const page = pageAround(first, last, ROW_MARGIN);
    listPage(v, page, controller.signal)
      .then((list) => {
        if (!controller.signal.aborted) setRows({ rows: list.processes, offset: list.offset, total: list.total });
      })
      .catch(() => undefined);
  };

  // Escape closes the side panel.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && viewRef.current.process && (e.target as HTMLElement).tagName !== "INPUT") setView({ process: null });
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const openProcess = (host: string, pid: number, start: number) => setView({ process: processKey(host, pid, start) });
  const selected = view.process ? parseProcessKey(view.process) : null;

  const pickDot = (p: ScatterPoint) => {
    if (view.dots === SCATTER_BY_PROCESS) {
      openProcess(String(p.group.host), Number(p.group.pid), Number(p.group.start));
      return;
    }
    const query = groupQuery(view.query, p.group as Record<string, string | null>);
    const label = Object.entries(p.group)
      .map(([k, v]) => `${k}:${v ?? "(none)"}`)
      .join(" ");
    pickFetch.current?.abort();
    const controller = new AbortController();
    pickFetch.current = controller;
    setPicked({ label, query, rows: null, total: p.count, error: null });
    api
      .processes({ query, sort: view.y, order: "desc", columns: pickColumns(view), offset: 0, limit: PICK_LIMIT }, controller.signal)
      .then((l) => setPicked({ label, query, rows: l.processes, total: l.total, error: null }))
      .catch((e) => (e as Error).name !== "AbortError" && setPicked({ label, query, rows: [], total: 0, error: (e as Error).message }));
  };

  const facetKeys = useMemo(() => {
    const keys = new Set(CORE_FACETS);
    facets?.forEach((f) => keys.add(f.key));
    return [...keys];
  }, [facets]);

  const noAgents = meta != null && meta.hosts === 0 && meta.stale.length === 0;
  const status = paused ? "paused" : loadError ? "failing" : "";

  return (
    <>
      <div class="toolbar">
        <SearchBar query={view.query} error={queryError?.error ?? null} errorQuery={queryError?.query ?? null} onApply={(q) => setView({ query: q }, false)} />
        <div class="views-menu">
          <ViewsMenu query={view.query} onQuery={(q) => setView({ query: q })} />
        </div>
        <SavedViews
          page="processes"
          state={savedState(view)}
          current={currentView}
          onCurrent={setCurrentView}
          onLoad={(v) => {
            setCurrentView(v.id);
            navigate("/processes" + viewSearch({ ...viewFromSaved(v.state), process: null }));
          }}
        />
        <div class="status-line" data-status={status || "live"}>
          <span class={`dot ${status}`} />
          <span>{paused ? "Paused" : loadError ? "Not updating" : "Live"}</span>
          <span data-updated={updatedAt ?? ""}>{updatedAt ? `updated ${formatClock(updatedAt)}` : "loading…"}</span>
          {meta?.collectedAt != null && <span title="When the newest process data was collected by an agent">data {formatAgo(meta.collectedAt, now)}</span>}
          <button onClick={() => {
            refresher.setPaused(!paused);
            setPaused(!paused);
          }} title={paused ? "Resume live updates" : "Stop live updates (the agents go back to collecting every 10 s after 30 minutes)"}>
            {paused ? "▶ Resume" : "❚❚ Pause"}
          </button>
        </div>
      </div>
      {loadError && <div class="banner error">Cannot load processes: {loadError}. Retrying every {REFRESH_MS / 1000} s.</div>}
      {meta && meta.stale.length > 0 && (
        <div class="banner warn" data-stale-hosts={meta.stale.map((s) => s.hostname).join(",")}>
          {meta.stale.length === 1 ? "1 host is" : `${meta.stale.length} hosts are`} not reporting, so {meta.stale.length === 1 ? "its" : "their"} processes are left out:{" "}
          {meta.stale.map((s) => `${s.hostname} (last data ${formatAgo(s.last_received_ms, now)})`).join(", ")}
        </div>
      )}
      <div class="body">
        <FacetPanel facets={facets} query={view.query} onToggle={(k, v) => setView({ query: toggleTag(view.query, k, v) })} />
        <div class="main">
          <div class="subbar">
            <div class="tabs">
              <button class={view.tab === "table" ? "active" : ""} onClick={() => setView({ tab: "table" })}>
                Table
              </button>
              <button class={view.tab === "scatter" ? "active" : ""} onClick={() => setView({ tab: "scatter" })}>
                Scatter plot
              </button>
            </div>
            {view.tab === "table" && (
              <>
                <GroupByMenu keys={facetKeys} by={view.by} max={4} note="Group by up to 4 tags" onChange={(by) => setView({ by })} />
                {view.by.length === 0 && (
                  <Menu label="Columns" class="columns">
                    {() => (
                      <>
                        {FIELDS.map((f) => (
                          <label key={f.name}>
                            <input
                              type="checkbox"
                              name={`col-${f.name}`}
                              checked={view.columns.includes(f.name)}
                              onChange={() => {
                                const on = view.columns.includes(f.name);
                                const next = on ? view.columns.filter((c) => c !== f.name) : [...view.columns, f.name];
                                if (next.length > 0) setView({ columns: next });
                              }}
                            />
                            {f.label} <span style="color:var(--muted)">{f.name}</span>
                          </label>
                        ))}
                      </>
                    )}
                  </Menu>
                )}
              </>
            )}
            {view.tab === "scatter" && <ScatterControls view={view} onChange={(patch) => setView(patch)} />}
            <span class="count" data-total={meta?.total ?? ""}>
              {meta ? `${formatCount(meta.total)} process${meta.total === 1 ? "" : "es"} on ${formatCount(meta.hosts)} host${meta.hosts === 1 ? "" : "s"}` : ""}
            </span>
          </div>
          {noAgents ? (
            <div class="empty">
              <strong>No agent has sent processes yet</strong>
              Start one on each host with <code>dogwatch agent</code> (pointed here with <code>dd_url</code> and <code>api_key</code>); <code>dogwatch up</code> runs one on this machine.
            </div>
          ) : view.tab === "scatter" ? (
            <div class="scatter">
              {points == null ? (
                <div class="empty">
                  <span class="spinner" /> Loading the scatter plot…
                </div>
              ) : points.length === 0 ? (
                <div class="empty">
                  <strong>No processes match</strong>Change the query to see dots.
                </div>
              ) : (
                <ScatterPlot points={points} x={view.x} y={view.y} xlog={view.xlog} ylog={view.ylog} onPick={pickDot} />
              )}
              {picked && (
                <div class="picked table">
                  <h4>
                    <span>
                      {picked.label} · {formatCount(picked.total)} process{picked.total === 1 ? "" : "es"}
                    </span>
                    <span>
                      <button class="link" onClick={() => setView({ query: picked.query, tab: "table" })}>
                        Show in table
                      </button>
                      <button
                        class="link"
                        onClick={() => {
                          pickFetch.current?.abort();
                          setPicked(null);
                        }}
                      >
                        Close
                      </button>
                    </span>
                  </h4>
                  <HeaderRow columns={pickColumns(view)} />
                  <div class="scroll groups" data-picked={picked.rows?.length ?? ""}>
                    {picked.error ? (
                      <div class="empty" style="color:var(--error)">
                        Cannot list the dot's processes: {picked.error}
                      </div>
                    ) : picked.rows == null ? (
                      <div class="empty">
                        <span class="spinner" /> Loading…
                      </div>
                    ) : (
                      picked.rows.map((r) => (
                        <div class="tr" style="position:static" key={processKey(r.host, r.pid, r.start)} data-pid={r.pid} onClick={() => openProcess(r.host, r.pid, r.start)}>
                          <Cells row={r} columns={pickColumns(view)} />
                        </div>
                      ))
                    )}
                  </div>
                </div>
              )}
            </div>
          ) : view.by.length > 0 ? (
            groups == null ? (
              <div class="empty">
                <span class="spinner" /> Grouping…
              </div>
            ) : (
              <GroupTable by={view.by} groups={groups.groups} totalGroups={groups.total} query={view.query} selected={view.process} refreshKey={refreshKey} onSelect={(r) => openProcess(r.host, r.pid, r.start)} />
            )
          ) : rows == null ? (
            <div class="empty">
              <span class="spinner" /> Loading processes…
            </div>
          ) : rows.total === 0 ? (
            <div class="empty">
              <strong>No processes match</strong>
              {view.query ? (
                <>
                  Nothing matches <code>{view.query}</code> on {formatCount(meta?.hosts ?? 0)} host(s).{" "}
                  <button class="link" onClick={() => setView({ query: "" })}>
                    Clear the search
                  </button>
                </>
              ) : (
                "The agents have sent no processes."
              )}
            </div>
          ) : (
            <ProcessTable
              rows={rows.rows}
              offset={rows.offset}
              total={rows.total}
              columns={view.columns}
              sort={view.sort}
              order={view.order}
              selected={view.process}
              onSort={(name) => setView({ sort: name, order: view.sort === name && view.order === "desc" ? "asc" : "desc" })}
              onNeedRows={needRows}
              resetKey={dataKey}
              onSelect={(r) => openProcess(r.host, r.pid, r.start)}
            />
          )}
        </div>
        {selected && (
          <DetailPanel
            host={selected.host}
            pid={selected.pid}
            start={selected.start}
            range={view.range}
            paused={paused}
            onRange={(range) => setView({ range }, false)}
            onOpen={openProcess}
            onClose={() => setView({ process: null })}
            onFilter={(term) => setView({ query: addTerm(view.query, term) })}
          />
        )}
      </div>
    </>
  );
}

/** The table's rows `page` for view `v`. */
function listPage(v: ProcessView, page: RowWindow, signal: AbortSignal) {
  return api.processes({ query: v.query, sort: v.sort, order: v.order, columns: v.columns, offset: page.offset, limit: Math.min(page.count, 10_000) }, signal);
}

function pickColumns(view: ProcessView): string[] {
  return ["host", "pid", "user", "command", view.x, view.y].filter((c, i, a) => a.indexOf(c) === i);
}
