// The Events and Service Checks pages' state, kept in the URL (defaults left out), and the
// little they compute: tag filters and the events-over-time strip.

import { parseRange, withSearch } from "./apm-state";
import { DEFAULT_METRIC_RANGE, METRIC_RANGES } from "./metrics-state";

const list = (s: string | null) => (s ?? "").split(",").map((x) => x.trim()).filter((x) => x !== "");

/** `tags` with `tag` added (at the end), unless it is there already. */
export function withTag(tags: readonly string[], tag: string): string[] {
  return tags.includes(tag) ? [...tags] : [...tags, tag];
}

/** A tag filter as typed (`env:prod, service:web`) as a list. */
export const parseTags = (text: string): string[] => list(text);

export type Priority = "" | "normal" | "low";

/** The Events page: range, text search, required tags, priority, or the one event a link names. */
export interface EventsView {
  range: string;
  q: string;
  tags: string[];
  priority: Priority;
  id: string | null;
}

export function parseEventsView(search: string): EventsView {
  const p = new URLSearchParams(search);
  const priority = p.get("priority");
  return {
    range: parseRange(p, METRIC_RANGES, DEFAULT_METRIC_RANGE),
    q: p.get("q") ?? "",
    tags: list(p.get("tags")),
    priority: priority === "normal" || priority === "low" ? priority : "",
    id: p.get("id") || null,
  };
}

export function eventsPath(view: Partial<EventsView>): string {
  return withSearch("/events", {
    range: view.range === DEFAULT_METRIC_RANGE ? null : view.range,
    q: view.q,
    tags: view.tags?.join(","),
    priority: view.priority,
    id: view.id,
  });
}

export const CHECK_STATUSES = ["ok", "warning", "critical", "unknown"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** A service check status code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) by name. */
export function checkStatus(code: number): CheckStatus {
  return CHECK_STATUSES[code] ?? "unknown";
}

/** The Service Checks page: check name search, status, required tags. */
export interface ChecksView {
  q: string;
  status: CheckStatus | "";
  tags: string[];
}

export function parseChecksView(search: string): ChecksView {
  const p = new URLSearchParams(search);
  const status = p.get("status") as CheckStatus | null;
  return { q: p.get("q") ?? "", status: status && CHECK_STATUSES.includes(status) ? status : "", tags: list(p.get("tags")) };
}

export function checksPath(view: Partial<ChecksView>): string {
  return withSearch("/checks", { q: view.q, status: view.status, tags: view.tags?.join(",") });
}

/** How many of `times` (ms) fall in each of `buckets` equal slices of [from, to): the slices'
 * starts and their counts. Times outside the range are left out. */
export function bucketCounts(times: readonly number[], from: number, to: number, buckets: number): { starts: number[]; counts: number[] } {
  const n = Math.max(1, Math.floor(buckets));
  const width = Math.max(1, (to - from) / n);
  const starts = Array.from({ length: n }, (_, i) => from + i * width);
  const counts = new Array<number>(n).fill(0);
  for (const t of times) {
    if (t < from || t > to) continue;
    counts[Math.min(n - 1, Math.floor((t - from) / width))]++;
  }
  return { starts, counts };
}

/** Whether an event's text is long enough to be shown collapsed: over `chars` characters or `lines` lines. */
export function isLongText(text: string, chars = 400, lines = 6): boolean {
  return text.length > chars || text.split("\n").length > lines;
}
