// Small pieces the APM pages (and the pages built like them) share: the time range picker,
// sortable table headers, the status line of a page that reloads itself, a headline number, and
// links that navigate without a page load.

import type { ComponentChildren } from "preact";
import { APM_RANGES, type RangeOption } from "../apm-state";
import { formatClock, formatCount, formatDuration, formatRatio } from "../format";
import { navigate } from "../router";

/** A link that changes the page in place (ctrl/cmd/shift-click still opens a new tab). `label`
 * names it for screen readers when its text alone does not (a bare count). */
export function NavLink(props: { href: string; class?: string; title?: string; label?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.class}
      title={props.title}
      aria-label={props.label}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** The time range as a row of buttons: 15m 1h 4h 1d 2d 7d (the APM pages'), or `ranges`. */
export function RangePicker(props: { range: string; onChange: (range: string) => void; ranges?: readonly RangeOption[] }) {
  return (
    <div class="tabs range-picker" role="group" aria-label="Time range">
      {(props.ranges ?? APM_RANGES).map((r) => (
        <button key={r.name} class={r.name === props.range ? "active" : ""} aria-pressed={r.name === props.range} onClick={() => props.onChange(r.name)}>
          {r.name}
        </button>
      ))}
    </div>
  );
}

/** A table header that sorts by its column when clicked, showing ▲ or ▼ when sorted. */
export function SortHeader(props: { column: string; label: string; sort: string; order: "asc" | "desc"; num?: boolean; onSort: (column: string) => void }) {
  const sorted = props.sort === props.column;
  return (
    <th
      class={`${props.num ? "num " : ""}sortable${sorted ? " sorted" : ""}`}
      data-column={props.column}
      aria-sort={sorted ? (props.order === "asc" ? "ascending" : "descending") : "none"}
      tabIndex={0}
      onClick={() => props.onSort(props.column)}
      onKeyDown={(e) => e.key === "Enter" && props.onSort(props.column)}
    >
      {props.label}
      {sorted ? (props.order === "asc" ? " ▲" : " ▼") : ""}
    </th>
  );
}

/** "Live · updated 09:41:07"; "Paused" when the page holds still; "Not updating" while the server does not answer. */
export function RefreshStatus(props: { updatedAt: number | null; failing: boolean; paused?: boolean }) {
  const status = props.failing ? "failing" : props.paused ? "paused" : "";
  return (
    <div class="status-line" data-status={status || "live"}>
      <span class={`dot ${status}`} />
      <span>{props.failing ? "Not updating" : props.paused ? "Paused" : "Live"}</span>
      <span data-updated={props.updatedAt ?? ""}>{props.updatedAt ? `updated ${formatClock(props.updatedAt)}` : "loading…"}</span>
    </div>
  );
}

/** A headline number with its label under it (`12.5% CPU`); red when `bad`. */
export function Stat(props: { label: string; value: string; bad?: boolean; title?: string }) {
  return (
    <div class={`stat${props.bad ? " bad" : ""}`} data-stat={props.label} title={props.title}>
      <div class="value">{props.value}</div>
      <div class="label">{props.label}</div>
    </div>
  );
}

export function ErrorBadge(props: { title?: string }) {
  return (
    <span class="badge error" title={props.title}>
      error
    </span>
  );
}

/** A horizontal bar `fraction` (0..1) of its width, optionally offset by `offset`. */
export function DurationBar(props: { fraction: number; offset?: number; error?: boolean; color?: string }) {
  const clamp = (v: number) => Math.max(0, Math.min(1, v)) * 100;
  const left = clamp(props.offset ?? 0);
  const width = Math.min(clamp(props.fraction), 100 - left);
  return (
    <span class="dbar">
      <span class={props.error ? "error" : ""} style={`left:${left.toFixed(2)}%;width:${width.toFixed(2)}%${props.color && !props.error ? `;background:${props.color}` : ""}`} />
    </span>
  );
}

/** A column of a RED metrics table (services, resources). */
export interface RedColumn<T> {
  name: keyof T & string;
  label: string;
  num?: boolean;
  format?: (v: number) => string;
}

/** The error and latency columns every RED table shares: errors, error rate, avg, p50, p95, p99. */
export function redColumns<T extends { errors: number; error_rate: number; avg: number | null; p50: number | null; p95: number | null; p99: number | null }>(): Array<RedColumn<T>> {
  return [
    { name: "errors", label: "Errors", num: true, format: formatCount },
    { name: "error_rate", label: "Error rate", num: true, format: formatRatio },
    { name: "avg", label: "Avg", num: true, format: formatDuration },
    { name: "p50", label: "p50", num: true, format: formatDuration },
    { name: "p95", label: "p95", num: true, format: formatDuration },
    { name: "p99", label: "p99", num: true, format: formatDuration },
  ];
}

/** The banner of a page whose reloads fail: what it cannot load, why, and that it keeps trying. */
export function LoadErrorBanner(props: { what: string; error: Error | null; everyMs: number }) {
  if (!props.error) return null;
  return (
    <div class="banner error">
      Cannot load {props.what}: {props.error.message}. Retrying every {props.everyMs / 1000} s.
    </div>
  );
}

/** A page body's first load. */
export function Loading(props: { what: string }) {
  return (
    <div class="empty">
      <span class="spinner" /> Loading {props.what}…
    </div>
  );
}
