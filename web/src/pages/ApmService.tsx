// One APM service: its RED numbers over the range, charts of latency and of hits and errors,
// and its resources (endpoints, queries), all of one operation: the primary one (most
// top-level hits) unless the operation selector picks another, as Datadog's service page.
// Clicking a resource narrows the charts to it; operation and resource are in the URL.
// Reloaded every 10 s.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError } from "../api";
import { apmApi, type ResourceStats, type SeriesAnswer, type ServiceAnswer } from "../apm-api";
import { explorerPath, nextSort, operationOptions, parseServiceView, rangeMs, servicePath, serviceQuery, servicesPath, sortRows, type ServiceView } from "../apm-state";
import { NavLink, RangePicker, type RedColumn, RefreshStatus, SortHeader, Stat, redColumns } from "../components/ApmParts";
import { TimeChart } from "../components/TimeChart";
import { formatCount, formatDuration, formatPerSecond, formatRatio } from "../format";
import { Refresher } from "../refresher";
import { navigate } from "../router";
import { useLiveRefresh } from "../use-live-refresh";
import { APM_REFRESH_MS } from "./ApmServices";

const RESOURCE_COLUMNS: Array<RedColumn<ResourceStats>> = [
  { name: "resource", label: "Resource" },
  { name: "name", label: "Operation" },
  { name: "hits", label: "Hits", num: true, format: formatCount },
  ...redColumns<ResourceStats>(),
  { name: "total_duration", label: "Total time", num: true, format: formatDuration },
];

interface Loaded {
  detail: ServiceAnswer | null;
  series: SeriesAnswer | null;
  from: number;
  to: number;
}

export function ApmServicePage(props: { service: string; search: string }) {
  const view = useMemo(() => parseServiceView(props.service, props.search), [props.service, props.search]);
  const viewRef = useRef(view);
  viewRef.current = view;
  const [data, setData] = useState<Loaded | null>(null);
  const [notFound, setNotFound] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);

  const setView = (patch: Partial<ServiceView>, push = true) => navigate(servicePath({ ...viewRef.current, ...patch }), !push);

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        const v = viewRef.current;
        const to = Date.now();
        const from = to - rangeMs(v.range);
        const env = v.env || undefined;
        const operation = v.operation ?? undefined;
        try {
          const [detail, series] = await Promise.all([
            apmApi.service(v.service, { from, to, env, operation }, signal).catch((e) => {
              if (e instanceof ApiError && e.status === 404) return null;
              throw e;
            }),
            apmApi.series({ service: v.service, operation, resource: v.resource ?? undefined, env, from, to }, signal),
          ]);
          if (signal.aborted) return;
          setData({ detail, series, from, to });
          setNotFound(detail == null);
          setError(null);
          setUpdatedAt(Date.now());
        } catch (e) {
          if ((e as Error).name !== "AbortError") setError((e as Error).message);
        }
      }, APM_REFRESH_MS),
    [],
  );
  useLiveRefresh(refresher);

  const dataKey = `${view.service}|${view.range}|${view.env}|${view.operation ?? ""}|${view.resource ?? ""}`;
  const firstKey = useRef(dataKey);
  useEffect(() => {
    if (firstKey.current === dataKey) return;
    // Another service starts blank; another range or resource keeps the old numbers until the new ones come.
    if (firstKey.current.split("|")[0] !== view.service) setData(null);
    firstKey.current = dataKey;
    refresher.now();
  }, [dataKey]);

  const charts = useMemo(() => {
    const points = data?.series?.points ?? [];
    const v = (x: number | null) => (x == null ? -1 : x);
    return {
      times: points.map((p) => p.t_ms),
      latency: [
        { label: "p50", color: "#632ca6", values: points.map((p) => v(p.p50)) },
        { label: "p95", color: "#1f77b4", values: points.map((p) => v(p.p95)) },
        { label: "p99", color: "#ff7f0e", values: points.map((p) => v(p.p99)) },
      ],
      hits: [
        { label: "hits", color: "#2ca02c", values: points.map((p) => p.hits) },
        { label: "errors", color: "#c62828", values: points.map((p) => p.errors) },
      ],
    };
  }, [data?.series]);

  const detail = data?.detail;
  const resources = useMemo(() => (detail ? sortRows(detail.resources ?? [], view.sort, view.order) : null), [detail, view.sort, view.order]);
  const s = detail?.summary;
  const stepS = data?.series ? Math.round(data.series.step_ms / 1000) : null;
  const sort = (column: string) => setView(nextSort(view, column, column === "resource" || column === "name"), false);
  const operations = operationOptions(detail?.operations ?? [], view.operation);
  const shownOperation = view.operation ?? detail?.operation ?? null;
  // Another operation has other resources: the resource filter goes with the old one.
  const pickOperation = (name: string) => {
    const primary = operations.find((o) => o.primary)?.name;
    setView({ operation: name === primary ? null : name, resource: null });
  };

  return (
    <div class="apm">
      <div class="toolbar">
        <NavLink href={servicesPath({ range: view.range, env: view.env, sort: "hits", order: "desc" })}>← Services</NavLink>
        <h2 data-service={view.service}>{view.service}</h2>
        {view.env && (
          <span class="chip">
            env:{view.env}
            <button class="link" title="All envs" onClick={() => setView({ env: "" })}>
              ✕
            </button>
          </span>
        )}
        {detail?.base_service && (
          <span class="muted" data-base-service={detail.base_service} title="_dd.base_service of its spans">
            base service <NavLink href={servicePath({ service: detail.base_service, range: view.range, env: view.env })}>{detail.base_service}</NavLink>
          </span>
        )}
        {operations.length > 0 && (
          <label class="inline" title="A service's numbers are those of one operation: the primary one (most hits) unless you pick another">
            Operation{" "}
            <select name="operation" value={shownOperation ?? ""} onChange={(e) => pickOperation((e.target as HTMLSelectElement).value)}>
              {operations.map((o) => (
                <option key={o.name} value={o.name}>
                  {o.name}
                  {o.hits != null ? ` (${formatCount(o.hits)} ${o.hits === 1 ? "hit" : "hits"})` : " (no hits in range)"}
                  {o.primary ? " · primary" : ""}
                </option>
              ))}
            </select>
          </label>
        )}
        <RangePicker range={view.range} onChange={(range) => setView({ range })} />
        <NavLink href={explorerPath({ query: serviceQuery(view.service, null, view.operation), range: view.range })} class="button">
          View traces
        </NavLink>
        <span class="spacer" />
        <RefreshStatus updatedAt={updatedAt} failing={error != null} />
      </div>
      {error && <div class="banner error">Cannot load the service: {error}. Retrying every {APM_REFRESH_MS / 1000} s.</div>}
      <div class="apm-body">
        {data == null && !error ? (
          <div class="empty">
            <span class="spinner" /> Loading {view.service}…
          </div>
        ) : notFound ? (
          <div class="empty">
            <strong>No stats for {view.service} in the last {view.range}{view.env ? ` in env ${view.env}` : ""}</strong>
            A service's numbers appear a few seconds after its first traces arrive (this page reloads every {APM_REFRESH_MS / 1000} s). Otherwise pick a
            longer range, or check that the service sends its traces here.{" "}
            <NavLink href={servicesPath({ range: view.range, env: "", sort: "hits", order: "desc" })}>See all services</NavLink>
          </div>
        ) : detail && s ? (
          <>
            <div class="stats" data-summary>
              <Stat label="Hits" value={formatCount(s.hits)} />
              <Stat label="Hits/s" value={formatPerSecond(s.hits_per_s)} />
              <Stat label="Errors" value={formatCount(s.errors)} bad={s.errors > 0} />
              <Stat label="Error rate" value={formatRatio(s.error_rate)} bad={s.error_rate > 0} />
              <Stat label="Avg" value={formatDuration(s.avg)} />
              <Stat label="p50" value={formatDuration(s.p50)} />
              <Stat label="p95" value={formatDuration(s.p95)} />
              <Stat label="p99" value={formatDuration(s.p99)} />
              {(s.type || s.env) && <Stat label="Type · env" value={[s.type, s.env].filter(Boolean).join(" · ")} />}
            </div>
            {view.resource != null && (
              <div class="banner filter" data-resource-filter={view.resource}>
                Charts for resource <code>{view.resource}</code>{" "}
                <button class="link" onClick={() => setView({ resource: null }, false)}>
                  Show all resources
                </button>
                <NavLink href={explorerPath({ query: serviceQuery(view.service, view.resource), range: view.range })}>Traces of this resource</NavLink>
              </div>
            )}
            <div class="charts">
              <TimeChart
                title={`Latency${view.resource ? ` · ${view.resource}` : ""}`}
                from={data!.from}
                to={data!.to}
                times={charts.times}
                series={charts.latency}
                format={(v) => (v === 0 ? "0" : formatDuration(v))}
                emptyText="No requests in this range."
              />
              <TimeChart
                title={`Hits and errors${stepS ? ` per ${stepS >= 60 ? `${Math.round(stepS / 60)} min` : `${stepS} s`}` : ""}${view.resource ? ` · ${view.resource}` : ""}`}
                from={data!.from}
                to={data!.to}
                times={charts.times}
                series={charts.hits}
                format={(v) => formatCount(Math.round(v * 100) / 100)}
                emptyText="No requests in this range."
              />
            </div>
            <h3>Resources</h3>
            {resources && resources.length > 0 ? (
              <table class="list resources-table">
                <thead>
                  <tr>
                    {RESOURCE_COLUMNS.map((c) => (
                      <SortHeader key={c.name} column={c.name} label={c.label} num={c.num} sort={view.sort} order={view.order} onSort={sort} />
                    ))}
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {resources.map((r) => {
                    const selected = view.resource === r.resource;
                    return (
                      <tr
                        key={`${r.resource}|${r.name}`}
                        class={`clickable${selected ? " selected" : ""}`}
                        data-resource={r.resource}
                        title={selected ? "Show all resources in the charts" : "Show this resource in the charts"}
                        onClick={(e) => (e.target as HTMLElement).tagName !== "A" && setView({ resource: selected ? null : r.resource }, false)}
                      >
                        {RESOURCE_COLUMNS.map((c) => (
                          <td key={c.name} class={`${c.num ? "num" : c.name === "resource" ? "mono wrap" : ""}${c.name === "error_rate" && r.error_rate > 0 ? " bad" : ""}`}>
                            {c.format ? c.format(r[c.name] as number) : String(r[c.name] || "—")}
                          </td>
                        ))}
                        <td>
                          <NavLink href={explorerPath({ query: serviceQuery(view.service, r.resource), range: view.range })}>traces</NavLink>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            ) : (
              <div class="empty">No resource stats in this range.</div>
            )}
          </>
        ) : null}
      </div>
    </div>
  );
}
