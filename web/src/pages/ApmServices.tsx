// The APM Services page: each service's requests, errors and latency (RED metrics) over the
// chosen range, from the stats of its primary operation (the top-level operation name with the
// most hits, as Datadog scopes a service). Integration services (`requests`, `sqlite`, …) can be
// grouped under their base service (`_dd.base_service`). Sorted in the browser; reloaded every 10 s.

import { useMemo, useRef, useState } from "preact/hooks";
import { apmApi, type ServiceStats } from "../apm-api";
import { groupByBaseService, nextSort, parseServicesView, rangeMs, servicePath, servicesPath, sortRows, type ServicesView } from "../apm-state";
import { NavLink, RangePicker, type RedColumn, RefreshStatus, SortHeader, redColumns } from "../components/ApmParts";
import { formatCount, formatPerSecond } from "../format";
import { Refresher } from "../refresher";
import { navigate } from "../router";
import { useLiveRefresh, useReloadOnChange } from "../use-live-refresh";

/** How often the APM pages reload while visible. */
export const APM_REFRESH_MS = 10_000;

const COLUMNS: Array<RedColumn<ServiceStats>> = [
  { name: "service", label: "Service" },
  { name: "env", label: "Env" },
  { name: "type", label: "Type" },
  { name: "hits", label: "Hits", num: true, format: formatCount },
  { name: "hits_per_s", label: "Hits/s", num: true, format: formatPerSecond },
  ...redColumns<ServiceStats>(),
  { name: "operation", label: "Operation" },
];

export function ApmServicesPage(props: { search: string }) {
  const view = useMemo(() => parseServicesView(props.search), [props.search]);
  const viewRef = useRef(view);
  viewRef.current = view;
  const [services, setServices] = useState<ServiceStats[] | null>(null);
  const [envs, setEnvs] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<number | null>(null);

  const setView = (patch: Partial<ServicesView>, push = true) => navigate(servicesPath({ ...viewRef.current, ...patch }), !push);

  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        const v = viewRef.current;
        const to = Date.now();
        try {
          const a = await apmApi.services({ from: to - rangeMs(v.range), to, env: v.env || undefined }, signal);
          if (signal.aborted) return;
          setServices(a.services);
          setEnvs(a.envs ?? []);
          setError(null);
          setUpdatedAt(Date.now());
        } catch (e) {
          if ((e as Error).name !== "AbortError") setError((e as Error).message);
        }
      }, APM_REFRESH_MS),
    [],
  );
  useLiveRefresh(refresher);

  // A new range or env reloads at once.
  useReloadOnChange(refresher, `${view.range}|${view.env}`);

  const rows = useMemo(() => {
    if (!services) return null;
    const sorted = sortRows(services, view.sort, view.order);
    return view.groupByBase ? groupByBaseService(sorted) : sorted.map((row) => ({ row, depth: 0 as const }));
  }, [services, view.sort, view.order, view.groupByBase]);
  const sort = (column: string) => setView(nextSort(view, column, column === "service" || column === "env" || column === "type" || column === "operation"), false);
  // The env in the URL stays offered even when the range has no data for it.
  const envOptions = view.env && !envs.includes(view.env) ? [...envs, view.env] : envs;

  return (
    <div class="apm">
      <div class="toolbar">
        <h2>APM Services</h2>
        <label class="inline">
          Env{" "}
          <select name="env" value={view.env} onChange={(e) => setView({ env: (e.target as HTMLSelectElement).value })}>
            <option value="">All envs</option>
            {envOptions.map((env) => (
              <option key={env} value={env}>
                {env}
              </option>
            ))}
          </select>
        </label>
        <label class="inline" title="Integration services (requests, sqlite, …) under the service whose spans they are (_dd.base_service)">
          <input type="checkbox" name="group-by-base" checked={view.groupByBase} onChange={(e) => setView({ groupByBase: (e.target as HTMLInputElement).checked }, false)} /> Group by base service
        </label>
        <RangePicker range={view.range} onChange={(range) => setView({ range })} />
        <NavLink href="/apm/traces" class="toolbar-link">
          Trace explorer →
        </NavLink>
        <span class="spacer" />
        <RefreshStatus updatedAt={updatedAt} failing={error != null} />
      </div>
      {error && <div class="banner error">Cannot load services: {error}. Retrying every {APM_REFRESH_MS / 1000} s.</div>}
      <div class="apm-body">
        {rows == null && !error ? (
          <div class="empty">
            <span class="spinner" /> Loading services…
          </div>
        ) : rows && rows.length === 0 ? (
          <div class="empty">
            <strong>No service has sent traces {view.env ? `in env ${view.env} ` : ""}in the last {view.range}</strong>
            Point a tracer at this machine's trace port (the Datadog default, 8126): for example <code>DD_TRACE_AGENT_URL=http://localhost:8126</code>, or
            run your app with <code>ddtrace-run</code>. A service is listed a few seconds after its first traces arrive.
          </div>
        ) : rows ? (
          <table class="list services-table">
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <SortHeader key={c.name} column={c.name} label={c.label} num={c.num} sort={view.sort} order={view.order} onSort={sort} />
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map(({ row: s, depth }) => {
                // A row is one service in one env: its page shows that env.
                const href = servicePath({ service: s.service, range: view.range, env: s.env || view.env || undefined });
                const others = (s.operations?.length ?? 1) - 1;
                return (
                  <tr
                    key={`${s.service}|${s.env}`}
                    class={`clickable${depth ? " child" : ""}`}
                    data-service={s.service}
                    data-base-service={s.base_service ?? undefined}
                    onClick={(e) => (e.target as HTMLElement).tagName !== "A" && navigate(href)}
                  >
                    {COLUMNS.map((c) =>
                      c.name === "service" ? (
                        <td key={c.name} style={depth ? { paddingLeft: "24px" } : undefined}>
                          {depth ? "↳ " : ""}
                          <NavLink href={href} class="strong">
                            {s.service}
                          </NavLink>
                          {s.base_service && !depth && (
                            <span class="muted" title="_dd.base_service of its spans">
                              {" "}
                              · base {s.base_service}
                            </span>
                          )}
                        </td>
                      ) : c.name === "operation" ? (
                        <td key={c.name} class="mono" title={s.operations?.map((o) => `${o.name}: ${o.hits} hits`).join("\n")}>
                          {s.operation ?? "—"}
                          {others > 0 && <span class="muted"> +{others}</span>}
                        </td>
                      ) : (
                        <td key={c.name} class={`${c.num ? "num" : ""}${c.name === "error_rate" && s.error_rate > 0 ? " bad" : ""}`}>
                          {c.format ? c.format(s[c.name] as number) : String(s[c.name] || "—")}
                        </td>
                      ),
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </div>
    </div>
  );
}
