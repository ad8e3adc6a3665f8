// The Live Processes page's state, kept in the URL so a link reproduces the view. Only values
// that differ from the defaults are written, so a plain /processes link stays short.

import { DEFAULT_COLUMNS, isField, METRICS } from "./fields";

/** What the Live Processes page shows. */
export interface ProcessView {
  /** The search query. */
  query: string;
  /** The table's sort field and direction. */
  sort: string;
  order: "asc" | "desc";
  /** The table's columns, in order. */
  columns: string[];
  /** Tag keys the table is grouped by (empty: one row per process). */
  by: string[];
  /** Which visualization: the table or the scatter plot. */
  tab: "table" | "scatter";
  /** The scatter plot's metrics, aggregation, axis scales and grouping (`process`: one dot per process). */
  x: string;
  y: string;
  agg: "avg" | "sum" | "max" | "min";
  xlog: boolean;
  ylog: boolean;
  dots: string;
  /** The detail panel's chart range. */
  range: string;
  /** The process in the side panel as `host|pid|start`, or null. */
  process: string | null;
}

/** The detail chart ranges offered, shortest first. */
export const RANGES: Array<{ name: string; ms: number }> = [
  { name: "15m", ms: 15 * 60_000 },
  { name: "1h", ms: 3_600_000 },
  { name: "4h", ms: 4 * 3_600_000 },
  { name: "12h", ms: 12 * 3_600_000 },
  { name: "36h", ms: 36 * 3_600_000 },
];

export const AGGREGATIONS = ["avg", "sum", "max", "min"] as const;

/** The view a plain /processes link shows. */
export const DEFAULT_VIEW: ProcessView = {
  query: "",
  sort: "cpu",
  order: "desc",
  columns: DEFAULT_COLUMNS,
  by: [],
  tab: "table",
  x: "cpu",
  y: "rss",
  agg: "avg",
  xlog: false,
  ylog: false,
  dots: "command",
  range: "1h",
  process: null,
};

const list = (s: string | null) =>
  s == null
    ? null
    : s
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "");

/** The view that URL search parameters describe; unknown or invalid values fall back to defaults. */
export function parseView(search: string): ProcessView {
  const p = new URLSearchParams(search);
  const d = DEFAULT_VIEW;
  const metric = (name: string, fallback: string) => {
    const v = p.get(name);
    return v && METRICS.includes(v) ? v : fallback;
  };
  const columns = list(p.get("cols"))?.filter(isField);
  const sort = p.get("sort");
  const agg = p.get("agg");
  const range = p.get("range");
  return {
    query: p.get("q") ?? d.query,
    sort: sort && isField(sort) && sort !== "tags" ? sort : d.sort,
    order: p.get("order") === "asc" ? "asc" : "desc",
    columns: columns && columns.length > 0 ? columns : d.columns,
    by: (list(p.get("by")) ?? d.by).slice(0, 4),
    tab: p.get("tab") === "scatter" ? "scatter" : "table",
    x: metric("x", d.x),
    y: metric("y", d.y),
    agg: (AGGREGATIONS as readonly string[]).includes(agg ?? "") ? (agg as ProcessView["agg"]) : d.agg,
    xlog: p.get("xlog") === "1",
    ylog: p.get("ylog") === "1",
    dots: p.get("dots") || d.dots,
    range: RANGES.some((r) => r.name === range) ? range! : d.range,
    process: p.get("p"),
  };
}

/** The URL search string (with `?`, or empty) for `view`, leaving defaults out. */
export function viewSearch(view: ProcessView): string {
  const d = DEFAULT_VIEW;
  const p = new URLSearchParams();
  if (view.query !== d.query) p.set("q", view.query);
  if (view.sort !== d.sort) p.set("sort", view.sort);
  if (view.order !== d.order) p.set("order", view.order);
  if (view.columns.join(",") !== d.columns.join(",")) p.set("cols", view.columns.join(","));
  if (view.by.length > 0) p.set("by", view.by.join(","));
  if (view.tab !== d.tab) p.set("tab", view.tab);
  if (view.x !== d.x) p.set("x", view.x);
  if (view.y !== d.y) p.set("y", view.y);
  if (view.agg !== d.agg) p.set("agg", view.agg);
  if (view.xlog) p.set("xlog", "1");
  if (view.ylog) p.set("ylog", "1");
  if (view.dots !== d.dots) p.set("dots", view.dots);
  if (view.range !== d.range) p.set("range", view.range);
  if (view.process) p.set("p", view.process);
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** The part of a view a saved view keeps: everything but the open process. */
export type SavedState = Omit<ProcessView, "process">;

/** `view` without what a saved view leaves out. */
export function savedState(view: ProcessView): SavedState {
  const { process: _omit, ...rest } = view;
  return rest;
}

/** The view a saved state describes, validated like a URL (a view saved by an older UI still loads). */
export function viewFromSaved(state: unknown): ProcessView {
  const s = (state ?? {}) as Record<string, unknown>;
  const p = new URLSearchParams();
  const str = (k: string) => (typeof s[k] === "string" ? (s[k] as string) : null);
  const set = (param: string, v: string | null) => v != null && p.set(param, v);
  set("q", str("query"));
  set("sort", str("sort"));
  set("order", str("order"));
  if (Array.isArray(s.columns)) p.set("cols", s.columns.join(","));
  if (Array.isArray(s.by)) p.set("by", s.by.join(","));
  set("tab", str("tab"));
  set("x", str("x"));
  set("y", str("y"));
  set("agg", str("agg"));
  if (s.xlog === true) p.set("xlog", "1");
  if (s.ylog === true) p.set("ylog", "1");
  set("dots", str("dots"));
  set("range", str("range"));
  return parseView(p.toString());
}

/** The key of a process in the side panel. */
export function processKey(host: string, pid: number, start: number): string {
  return `${host}|${pid}|${start}`;
}

/** `host|pid|start` split up, or null when malformed. */
export function parseProcessKey(key: string): { host: string; pid: number; start: number } | null {
  const parts = key.split("|");
  if (parts.length !== 3) return null;
  const pid = Number(parts[1]);
  const start = Number(parts[2]);
  if (!parts[0] || !Number.isInteger(pid) || !Number.isFinite(start)) return null;
  return { host: parts[0], pid, start };
}
