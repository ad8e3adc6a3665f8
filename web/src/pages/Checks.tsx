// The Service Checks page: the latest run of every (check, host), worst status first, with how
// many of each status there are (click one to list only those), a check name search, and tag
// filters (click a tag in the table to add it). In the URL; reloaded every 10 s while visible.

import { useMemo } from "preact/hooks";
import { LoadErrorBanner, Loading, RefreshStatus } from "../components/ApmParts";
import { SearchBar } from "../components/SearchBar";
import { FilterChips, TagList } from "../components/Tags";
import { CHECK_STATUSES, checkStatus, checksPath, parseChecksView, withTag, type CheckStatus, type ChecksView } from "../events-state";
import { formatAgo, formatCount, formatTime } from "../format";
import { metricsApi, type StatusCounts } from "../metrics-api";
import { navigate } from "../router";
import { usePolling } from "../use-live-refresh";

export const CHECKS_REFRESH_MS = 10_000;

function StatusBadge(props: { status: CheckStatus }) {
  return <span class={`status-badge ${props.status}`}>{props.status.toUpperCase()}</span>;
}

/** A run count per status, the zero ones left out: `10 OK · 1 CRITICAL`. */
function RunCounts(props: { counts: StatusCounts }) {
  const parts = CHECK_STATUSES.filter((s) => props.counts[s] > 0);
  if (parts.length === 0) return <span class="muted">—</span>;
  return (
    <span class="run-counts">
      {parts.map((s) => (
        <span key={s} class={`count ${s}`} data-count={s}>
          {formatCount(props.counts[s])} {s.toUpperCase()}
        </span>
      ))}
    </span>
  );
}

export function ChecksPage(props: { search: string }) {
  const view = useMemo(() => parseChecksView(props.search), [props.search]);
  const setView = (patch: Partial<ChecksView>, push = true) => navigate(checksPath({ ...view, ...patch }), !push);

  const polled = usePolling(
    async (signal) => {
      const tags = view.tags.join(",");
      // The totals count every status, so with a status filter they come from a second, unfiltered call.
      const [list, all] = await Promise.all([
        metricsApi.checks({ q: view.q, status: view.status, tags }, signal),
        view.status ? metricsApi.checks({ q: view.q, tags }, signal) : null,
      ]);
      return { checks: list.checks, totals: (all ?? list).totals };
    },
    CHECKS_REFRESH_MS,
    `${view.q}|${view.status}|${view.tags.join(",")}`,
  );
  const data = polled.data;
  // Until the server's answer for a new status comes, the last list is narrowed to it here.
  const checks = data?.checks.filter((c) => !view.status || checkStatus(c.status) === view.status);
  const total = data ? CHECK_STATUSES.reduce((n, s) => n + data.totals[s], 0) : 0;
  const now = polled.updatedAt ?? Date.now();
  const filtered = view.q || view.status || view.tags.length > 0;

  return (
    <div class="apm checks">
      <div class="toolbar">
        <h2>Service Checks</h2>
        <SearchBar query={view.q} error={null} errorQuery={null} onApply={(q) => setView({ q }, false)} name="q" label="Search checks" placeholder="Search check names" />
        <FilterChips tags={view.tags} onRemove={(t) => setView({ tags: view.tags.filter((x) => x !== t) })} />
        <span class="spacer" />
        <RefreshStatus updatedAt={polled.updatedAt} failing={polled.error != null} />
      </div>
      <LoadErrorBanner what="service checks" error={polled.error} everyMs={CHECKS_REFRESH_MS} />
      <div class="apm-body">
        {data && (
          <div class="stats status-totals" role="group" aria-label="Filter by status">
            <button class={`stat${view.status === "" ? " active" : ""}`} data-total="all" aria-pressed={view.status === ""} onClick={() => setView({ status: "" })}>
              <div class="value">{formatCount(total)}</div>
              <div class="label">All</div>
            </button>
            {CHECK_STATUSES.map((s) => (
              <button
                key={s}
                class={`stat status-${s}${view.status === s ? " active" : ""}`}
                data-total={s}
                aria-pressed={view.status === s}
                title={view.status === s ? "Show every status" : `Show only ${s.toUpperCase()}`}
                onClick={() => setView({ status: view.status === s ? "" : s })}
              >
                <div class="value">{formatCount(data.totals[s])}</div>
                <div class="label">{s}</div>
              </button>
            ))}
          </div>
        )}
        {checks == null && !polled.error ? (
          <Loading what="service checks" />
        ) : checks && checks.length === 0 ? (
          <div class="empty" data-empty="checks">
            <strong>{filtered ? "No service check matches" : "No service checks yet"}</strong>
            {filtered ? (
              <button class="link" onClick={() => setView({ q: "", status: "", tags: [] })}>
                Clear the filters
              </button>
            ) : (
              <>
                Send one over DogStatsD, e.g. <code>echo -n '_sc|app.up|0' | nc -u -w0 127.0.0.1 8125</code>, or post it to <code>/api/v1/check_run</code>.
              </>
            )}
          </div>
        ) : checks ? (
          <table class="list checks-table">
            <thead>
              <tr>
                <th>Status</th>
                <th>Check</th>
                <th>Host</th>
                <th>Message</th>
                <th>Tags</th>
                <th>Last run</th>
                <th>Runs (last hour)</th>
              </tr>
            </thead>
            <tbody>
              {checks.map((c) => {
                const status = checkStatus(c.status);
                return (
                  <tr key={`${c.check}|${c.host}`} data-check={c.check} data-host={c.host} data-status={status}>
                    <td>
                      <StatusBadge status={status} />
                    </td>
                    <td class="strong">{c.check}</td>
                    <td>{c.host || "—"}</td>
                    <td class="wrap message">{c.message || <span class="muted">—</span>}</td>
                    <td class="wrap">
                      <TagList tags={c.tags ?? []} onPick={(t) => setView({ tags: withTag(view.tags, t) })} />
                    </td>
                    <td class="nowrap" title={formatTime(c.timestamp * 1000)}>
                      {formatAgo(c.timestamp * 1000, now)}
                    </td>
                    <td>
                      <RunCounts counts={c.counts} />
                    </td>
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
