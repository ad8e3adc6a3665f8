// The trace explorer: spans matching a search over the range, newest first (by default only
// the spans where a request entered a service), with their duration as a bar. "Load more" pages
// on with the server's cursor; the first page reloads every 10 s until more is loaded.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, type QueryError } from "../api";
import { apmApi, type ListedSpan } from "../apm-api";
import { explorerPath, parseExplorerView, rangeMs, tracePath, type ExplorerView } from "../apm-state";
import { DurationBar, ErrorBadge, NavLink, RangePicker, RefreshStatus } from "../components/ApmParts";
import { SearchBar } from "../components/SearchBar";
import { formatCount, formatDuration, formatTimeMillis } from "../format";
import { Refresher } from "../refresher";
import { navigate } from "../router";
import { useLiveRefresh } from "../use-live-refresh";
import { APM_REFRESH_MS } from "./ApmServices";

/** Spans fetched per page. */
const PAGE = 50;

interface Results {
  spans: ListedSpan[];
  next: string | null;
  /** The range the first page was asked for; later pages ask the same. */
  from: number;
  to: number;
  /** Whether pages beyond the first were loaded (which stops the refresh). */
  more: boolean;
}

export function ApmTracesPage(props: { search: string }) {
  const view = useMemo(() => parseExplorerView(props.search), [props.search]);
  const viewRef = useRef(view);
  viewRef.current = view;
  const [results, setResults] = useState<Results | null>(null);
  const resultsRef = useRef(results);
  resultsRef.current = results;
  const [queryError, setQueryError] = useState<{ error: QueryError; query: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const moreFetch = useRef<AbortController | null>(null);

  const setView = (patch: Partial<ExplorerView>, push = true) => navigate(explorerPath({ ...viewRef.current, ...patch }), !push);

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        // Once more pages are loaded the list holds still; a change of query starts over.
        if (resultsRef.current?.more) return;
        const v = viewRef.current;
        const to = Date.now();
        const from = to - rangeMs(v.range);
        try {
          const a = await apmApi.spans({ query: v.query, from, to, limit: PAGE, entry: v.entry }, signal);
          if (signal.aborted || resultsRef.current?.more) return;
          setResults({ spans: a.spans, next: a.next_cursor, from, to, more: false });
          setQueryError(null);
          setError(null);
          setUpdatedAt(Date.now());
        } catch (e) {
          if ((e as Error).name === "AbortError") return;
          if (e instanceof ApiError && e.queryError) setQueryError({ error: e.queryError, query: v.query });
          else setError((e as Error).message);
        }
      }, APM_REFRESH_MS),
    [],
  );
  useLiveRefresh(refresher);

  const dataKey = `${view.query}|${view.range}|${view.entry}`;
  const firstKey = useRef(dataKey);
  useEffect(() => {
    if (firstKey.current === dataKey) return;
    firstKey.current = "";
    moreFetch.current?.abort();
    setLoadingMore(false);
    if (resultsRef.current) {
      resultsRef.current = { ...resultsRef.current, more: false };
      setResults(resultsRef.current);
    }
    refresher.now();
  }, [dataKey]);

  const loadMore = () => {
    const r = resultsRef.current;
    if (!r?.next) return;
    moreFetch.current?.abort();
    const controller = new AbortController();
    moreFetch.current = controller;
    setLoadingMore(true);
    const v = viewRef.current;
    apmApi
      .spans({ query: v.query, from: r.from, to: r.to, limit: PAGE, cursor: r.next, entry: v.entry }, controller.signal)
      .then((a) => {
        if (controller.signal.aborted) return;
        const cur = resultsRef.current ?? r;
        setResults({ ...cur, spans: [...cur.spans, ...a.spans], next: a.next_cursor, more: true });
        setError(null);
      })
      .catch((e) => (e as Error).name !== "AbortError" && setError((e as Error).message))
      .finally(() => !controller.signal.aborted && setLoadingMore(false));
  };

  const maxDuration = useMemo(() => Math.max(1, ...(results?.spans.map((s) => s.duration) ?? [])), [results]);
  const spans = results?.spans;

  return (
    <div class="apm">
      <div class="toolbar">
        <h2>Traces</h2>
        <SearchBar
          query={view.query}
          error={queryError?.error ?? null}
          errorQuery={queryError?.query ?? null}
          onApply={(q) => setView({ query: q }, false)}
          label="Search spans"
          placeholder={'Search spans: service:web   resource_name:"GET /notes"   status:error   @duration:>100ms'}
        />
        <label class="inline" title="Only the spans where a request entered a service (the Datadog default)">
          <input type="checkbox" name="entry" checked={view.entry} onChange={() => setView({ entry: !view.entry })} /> Entry spans only
        </label>
        <RangePicker range={view.range} onChange={(range) => setView({ range })} />
        <RefreshStatus updatedAt={updatedAt} failing={error != null} paused={results?.more} />
      </div>
      {error && <div class="banner error">Cannot load spans: {error}. Retrying every {APM_REFRESH_MS / 1000} s.</div>}
      {results?.more && <div class="banner note">Showing {formatCount(results.spans.length)} spans; updates stop while more are loaded. Change the search or the range to start over.</div>}
      <div class="apm-body">
        {spans == null && !error && !queryError ? (
          <div class="empty">
            <span class="spinner" /> Loading spans…
          </div>
        ) : spans && spans.length === 0 ? (
          <div class="empty">
            <strong>No {view.entry ? "entry " : ""}spans match in the last {view.range}</strong>
            {view.query ? (
              <>
                Nothing matches <code>{view.query}</code>.{" "}
                <button class="link" onClick={() => setView({ query: "" })}>
                  Clear the search
                </button>
              </>
            ) : (
              "No traces have arrived in this range."
            )}
            {view.entry && (
              <>
                {" "}
                <button class="link" onClick={() => setView({ entry: false })}>
                  Include spans inside services
                </button>
              </>
            )}
          </div>
        ) : spans ? (
          <>
            <table class="list spans-table">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Service</th>
                  <th>Resource</th>
                  <th>Operation</th>
                  <th class="duration-col">Duration</th>
                  <th class="num">Status</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {spans.map((s) => {
                  const href = tracePath({ traceId: s.trace_id, span: s.span_id });
                  return (
                    <tr key={`${s.trace_id}|${s.span_id}`} class="clickable" data-trace-id={s.trace_id} data-span-id={s.span_id} onClick={(e) => (e.target as HTMLElement).tagName !== "A" && navigate(href)}>
                      <td class="nowrap">
                        <NavLink href={href}>{formatTimeMillis(s.start_ms)}</NavLink>
                      </td>
                      <td>{s.service}</td>
                      <td class="mono wrap">{s.resource}</td>
                      <td>{s.name}</td>
                      <td class="duration-col">
                        <DurationBar fraction={s.duration / maxDuration} error={s.error === 1} />
                        <span class="num">{formatDuration(s.duration)}</span>
                      </td>
                      <td class="num">{s.meta?.["http.status_code"] ?? "—"}</td>
                      <td>{s.error ? <ErrorBadge title={s.meta?.["error.message"] ?? s.meta?.["error.msg"]} /> : null}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <div class="more">
              {results?.next ? (
                <button onClick={loadMore} disabled={loadingMore}>
                  {loadingMore ? "Loading…" : "Load more"}
                </button>
              ) : (
                <span class="muted">{formatCount(spans.length)} span{spans.length === 1 ? "" : "s"}, all shown</span>
              )}
            </div>
          </>
        ) : null}
      </div>
    </div>
  );
}

