// The Integrations page: every integration the server detects from the hosts' live processes or
// finds configured in their agents' checks, with its status (Detected, Partial Visibility,
// Installed) and host counts; and one integration's page with its Hosts tab (each host, its
// processes running it, whether the check is configured there and how its runs are doing) and an
// About tab (its signatures and key metrics). Reloaded every 10 s while visible.

import { useMemo } from "preact/hooks";
import { LoadErrorBanner, Loading, NavLink, RefreshStatus } from "../components/ApmParts";
import { formatCount } from "../format";
import { checkRunBadge } from "../host-state";
import { integrationsApi } from "../integrations-api";
import {
  filterIntegrations,
  integrationPath,
  integrationProcessesPath,
  integrationsPath,
  parseIntegrationsView,
  parseIntegrationView,
  statusBadge,
  type Integration,
  type IntegrationsView,
  type IntegrationStatus,
} from "../integrations-state";
import { navigate } from "../router";
import { usePolling } from "../use-live-refresh";

export const INTEGRATIONS_REFRESH_MS = 10_000;

export function StatusBadge(props: { status: IntegrationStatus | null; label: string }) {
  return (
    <span class={`integration-badge ${statusBadge(props.status)}`} data-integration-status={props.status ?? "none"}>
      {props.label}
    </span>
  );
}

const FILTERS: Array<{ status: IntegrationStatus | ""; label: string }> = [
  { status: "", label: "All" },
  { status: "detected", label: "Detected" },
  { status: "partial", label: "Partial Visibility" },
  { status: "installed", label: "Installed" },
];

function hostsText(i: Integration): string {
  if (i.hosts_running === 0) return `configured on ${formatCount(i.hosts_configured)} host${i.hosts_configured === 1 ? "" : "s"}, running on none`;
  return `running on ${formatCount(i.hosts_running)} host${i.hosts_running === 1 ? "" : "s"}`;
}

export function IntegrationsPage(props: { search: string }) {
  const view = useMemo(() => parseIntegrationsView(props.search), [props.search]);
  const setView = (patch: Partial<IntegrationsView>) => navigate(integrationsPath({ ...view, ...patch }), true);
  const polled = usePolling((signal) => integrationsApi.list(null, signal), INTEGRATIONS_REFRESH_MS, "list");
  const all = polled.data?.integrations ?? [];
  const shown = filterIntegrations(all, view);
  const count = (s: IntegrationStatus | "") => all.filter((i) => !s || i.status === s).length;

  return (
    <div class="apm integrations-page">
      <div class="toolbar">
        <h2>Integrations</h2>
        <input type="search" class="filter" placeholder="Search integrations" aria-label="Search integrations" value={view.q} onInput={(e) => setView({ q: (e.target as HTMLInputElement).value })} />
        <div class="tabs" role="group" aria-label="Status">
          {FILTERS.map((f) => (
            <button key={f.status} class={view.status === f.status ? "active" : ""} aria-pressed={view.status === f.status} data-filter={f.status || "all"} onClick={() => setView({ status: f.status })}>
              {f.label} {polled.data ? `(${count(f.status)})` : ""}
            </button>
          ))}
        </div>
        <span class="spacer" />
        <RefreshStatus updatedAt={polled.updatedAt} failing={polled.error != null} />
      </div>
      <LoadErrorBanner what="integrations" error={polled.error} everyMs={INTEGRATIONS_REFRESH_MS} />
      <div class="apm-body">
        {polled.data == null ? (
          !polled.error && <Loading what="integrations" />
        ) : all.length === 0 ? (
          <div class="empty" data-empty="no-integrations">
            <strong>No integration detected yet</strong>
            dogwatch recognizes servers such as Redis, PostgreSQL, MySQL, NGINX, Apache, Kafka and Elasticsearch from the processes its agents report, and shows here whether each host has
            the matching check configured (<code>conf.d/&lt;check&gt;.d/conf.yaml</code>).
          </div>
        ) : shown.length === 0 ? (
          <div class="empty">
            <strong>No integration matches</strong>
            <button class="link" onClick={() => setView({ q: "", status: "" })}>
              Show all
            </button>
          </div>
        ) : (
          <div class="integration-cards">
            {shown.map((i) => (
              <div class="integration-card" key={i.id} data-integration={i.id}>
                <h3>
                  <NavLink href={integrationPath({ id: i.id, tab: "hosts" })}>{i.name}</NavLink>
                  <StatusBadge status={i.status} label={i.status_label} />
                </h3>
                <div class="muted mono">{i.id}</div>
                <div data-hosts-running={i.hosts_running} data-hosts-configured={i.hosts_configured}>
                  {hostsText(i)} · check configured on {formatCount(i.hosts_configured)}
                  {i.hosts_unconfigured > 0 && <span class="warn-text"> · {formatCount(i.hosts_unconfigured)} without it</span>}
                </div>
                <div>
                  {i.processes > 0 && (
                    <NavLink href={integrationProcessesPath(i.query)} class="processes-link">
                      {formatCount(i.processes)} process{i.processes === 1 ? "" : "es"}
                    </NavLink>
                  )}
                </div>
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  );
}

export function IntegrationPage(props: { id: string; search: string }) {
  const view = useMemo(() => parseIntegrationView(props.id, props.search), [props.id, props.search]);
  const polled = usePolling((signal) => integrationsApi.one(view.id, signal), INTEGRATIONS_REFRESH_MS, view.id);
  const d = polled.data;
  const tab = (t: "hosts" | "about", label: string) => (
    <button class={view.tab === t ? "active" : ""} aria-pressed={view.tab === t} onClick={() => navigate(integrationPath({ ...view, tab: t }), true)}>
      {label}
    </button>
  );
  return (
    <div class="apm integration-page">
      <div class="toolbar">
        <NavLink href="/integrations">← Integrations</NavLink>
        <h2 data-integration={view.id}>{d?.name ?? view.id}</h2>
        {d && <StatusBadge status={d.status} label={d.status_label} />}
        <div class="tabs">
          {tab("hosts", "Hosts")}
          {tab("about", "About")}
        </div>
        {d && (
          <NavLink href={integrationProcessesPath(d.query)} class="button processes-link">
            View processes
          </NavLink>
        )}
        <span class="spacer" />
        <RefreshStatus updatedAt={polled.updatedAt} failing={polled.error != null} />
      </div>
      <LoadErrorBanner what="the integration" error={polled.error} everyMs={INTEGRATIONS_REFRESH_MS} />
      <div class="apm-body">
        {d == null ? (
          !polled.error && <Loading what={view.id} />
        ) : view.tab === "about" ? (
          <>
            <h3>Process signatures</h3>
            <ul class="signatures">
              {d.signatures.map((s) => (
                <li key={s.text}>
                  <code>{s.text}</code> <span class="muted">{s.source === "manifest" ? "from Datadog's manifest" : "dogwatch's own"}</span>
                </li>
              ))}
            </ul>
            <h3>Key metrics</h3>
            {d.metrics.length === 0 ? (
              <div class="muted">none listed</div>
            ) : (
              <ul class="signatures">
                {d.metrics.map((m) => (
                  <li key={m.name}>
                    <code>{m.name}</code> <span class="muted">{m.label}</span>
                  </li>
                ))}
              </ul>
            )}
            <p class="muted">
              Configure it with <code>conf.d/{d.id}.d/conf.yaml</code> on each host running it.
            </p>
          </>
        ) : d.hosts.length === 0 ? (
          <div class="empty" data-empty="no-hosts">
            <strong>{d.name} is not running on any host that reports processes</strong>
            and no host has its check configured.
          </div>
        ) : (
          <table class="list integration-hosts">
            <thead>
              <tr>
                <th>Host</th>
                <th class="num">Processes</th>
                <th>Check</th>
                <th>Status</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {d.hosts.map((h) => {
                const failing = h.checks.find((c) => c.status !== "OK");
                const worst = failing ?? h.checks[0];
                return (
                  <tr key={h.hostname} data-host={h.hostname} data-configured={h.configured ? "1" : "0"}>
                    <td class="strong">
                      <NavLink href={`/hosts/${encodeURIComponent(h.hostname)}`}>{h.hostname}</NavLink>
                    </td>
                    <td class="num">
                      {h.processes > 0 ? (
                        <NavLink href={integrationProcessesPath(d.query, h.hostname)} label={`${h.processes} processes on ${h.hostname}`}>
                          {formatCount(h.processes)}
                        </NavLink>
                      ) : (
                        <span class="muted">0</span>
                      )}
                    </td>
                    <td>{h.configured ? <span>configured ({h.checks.length} instance{h.checks.length === 1 ? "" : "s"})</span> : <span class="warn-text">not configured</span>}</td>
                    <td>{worst ? <span class={`status-badge ${checkRunBadge(worst.status)}`}>{worst.status}</span> : <span class="muted">—</span>}</td>
                    <td class="wrap message">{failing?.error ? <span class="error-text">{failing.error}</span> : <span class="muted">—</span>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
