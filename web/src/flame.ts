// The trace view's layout, pure and unit-tested (test/flame.test.ts): which span nests under
// which, the row each bar is drawn on, and the maths from nanoseconds to pixels for the flame
// graph (x = time since the trace started, y = row) and its zoom, ticks and hit testing.

/** What the layout needs of a span. */
export interface SpanLike {
  span_id: string;
  parent_id: string;
  /** Nanoseconds since the epoch, as a decimal string. */
  start: string;
  /** Nanoseconds. */
  duration: number;
}

export interface FlameNode<S extends SpanLike = SpanLike> {
  span: S;
  /** Nesting: 0 for the root and for a span whose parent is not in the trace, else its parent's depth + 1. */
  depth: number;
  /** The row the bar is drawn on: the first row below its parent's where it overlaps no other bar. */
  row: number;
  /** Nanoseconds since the trace started. */
  start: number;
  end: number;
  /** The parent's index in `nodes`, or -1. */
  parent: number;
  /** The children's indexes in `nodes`, by start. */
  children: number[];
}

export interface FlameLayout<S extends SpanLike = SpanLike> {
  /** Every span once, in tree order: each span followed by its descendants, siblings by start. */
  nodes: FlameNode<S>[];
  rows: number;
  /** The earliest start, ns since the epoch. */
  traceStart: bigint;
  /** From the earliest start to the latest end, ns (at least 1). */
  duration: number;
}

const parseNs = (s: string): bigint => {
  try {
    return BigInt(s);
  } catch {
    return 0n;
  }
};

/** The busy intervals of one row, sorted by start, for quick overlap checks. */
class RowIntervals {
  private starts: number[] = [];
  private ends: number[] = [];

  /** Whether [start, end) overlaps nothing in the row. */
  free(start: number, end: number): boolean {
    const i = this.firstStartAtOrAfter(end);
    // Only the interval just before `end` can reach into [start, end): the intervals of a row never overlap.
    return i === 0 || this.ends[i - 1] <= start;
  }

  add(start: number, end: number): void {
    const i = this.firstStartAtOrAfter(start);
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
  }

  private firstStartAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Lays a trace out. Spans nest by `parent_id`; the root (`rootSpanId`, else the earliest span with
 * no parent) comes first, then spans whose parent is missing, each at depth 0 and drawn under the
 * root. A bar goes on the first row below its parent's where it overlaps no bar already placed,
 * so concurrent siblings are stacked rather than drawn over each other.
 */
export function layoutTrace<S extends SpanLike>(spans: readonly S[], rootSpanId?: string): FlameLayout<S> {
  if (spans.length === 0) return { nodes: [], rows: 0, traceStart: 0n, duration: 1 };
  const starts = spans.map((s) => parseNs(s.start));
  const traceStart = starts.reduce((a, b) => (b < a ? b : a));
  const rel = starts.map((s) => Number(s - traceStart));
  const duration = Math.max(1, ...spans.map((s, i) => rel[i] + Math.max(0, s.duration)));

  // The first span with each id is the one children attach to.
  const byId = new Map<string, number>();
  spans.forEach((s, i) => {
    if (!byId.has(s.span_id)) byId.set(s.span_id, i);
  });
  const kids: number[][] = spans.map(() => []);
  const tops: number[] = [];
  spans.forEach((s, i) => {
    const p = byId.get(s.parent_id);
    if (s.parent_id === "0" || p === undefined || p === i) tops.push(i);
    else kids[p].push(i);
  });
  const byStart = (a: number, b: number) => rel[a] - rel[b] || a - b;
  kids.forEach((k) => k.sort(byStart));
  tops.sort((a, b) => {
    // The root first, then whatever lost its parent, by start.
    const ra = spans[a].span_id === rootSpanId || (rootSpanId === undefined && spans[a].parent_id === "0");
    const rb = spans[b].span_id === rootSpanId || (rootSpanId === undefined && spans[b].parent_id === "0");
    return ra === rb ? byStart(a, b) : ra ? -1 : 1;
  });

  const nodes: FlameNode<S>[] = [];
  const placed = new Uint8Array(spans.length);
  const rows: RowIntervals[] = [];
  const place = (top: number) => {
    // Depth-first without recursion: a deep trace cannot overflow the stack.
    const stack: Array<{ i: number; parent: number; depth: number }> = [{ i: top, parent: -1, depth: 0 }];
    while (stack.length > 0) {
      const { i, parent, depth } = stack.pop()!;
      if (placed[i]) continue;
      placed[i] = 1;
      const start = rel[i];
      const end = start + Math.max(0, spans[i].duration);
      // A zero-length span still takes a nanosecond, so two of them at one instant do not share a row.
      const busyEnd = Math.max(end, start + 1);
      let row = parent < 0 ? 0 : nodes[parent].row + 1;
      while (rows[row] && !rows[row].free(start, busyEnd)) row++;
      (rows[row] ??= new RowIntervals()).add(start, busyEnd);
      const index = nodes.length;
      nodes.push({ span: spans[i], depth, row, start, end, parent, children: [] });
      if (parent >= 0) nodes[parent].children.push(index);
      for (let k = kids[i].length - 1; k >= 0; k--) stack.push({ i: kids[i][k], parent: index, depth: depth + 1 });
    }
  };
  tops.forEach(place);
  // Spans in a parent cycle were reached from no top: each unplaced one starts a tree of its own.
  spans.forEach((_, i) => placed[i] || place(i));
  return { nodes, rows: rows.length, traceStart, duration };
}

/** The time shown across the flame graph's width, ns since the trace started. */
export interface Viewport {
  start: number;
  end: number;
}

export function fullView(layout: FlameLayout<SpanLike>): Viewport {
  return { start: 0, end: layout.duration };
}

/** The view zoomed to a span's interval (a zero-length span gets 1/1000 of the trace around it). */
export function zoomTo(node: FlameNode<SpanLike>, layout: FlameLayout<SpanLike>): Viewport {
  const min = Math.max(1, layout.duration / 1000);
  if (node.end - node.start >= min) return { start: node.start, end: node.end };
  const mid = (node.start + node.end) / 2;
  return { start: mid - min / 2, end: mid + min / 2 };
}

export function isFullView(view: Viewport, layout: FlameLayout<SpanLike>): boolean {
  return view.start <= 0 && view.end >= layout.duration;
}

/** Where time `t` (ns since the trace started) falls across `width` pixels. */
export function toPx(t: number, view: Viewport, width: number): number {
  return ((t - view.start) / Math.max(1e-9, view.end - view.start)) * width;
}

/** A bar's left edge and width in pixels, clipped to the canvas; at least 1 px wide; null when out of view. */
export function barRect(node: FlameNode<SpanLike>, view: Viewport, width: number): { x: number; w: number } | null {
  if (node.end < view.start || node.start > view.end) return null;
  const x0 = Math.max(0, toPx(node.start, view, width));
  const x1 = Math.min(width, toPx(node.end, view, width));
  if (x1 < 0 || x0 > width) return null;
  return { x: x0, w: Math.max(1, x1 - x0) };
}

/** The span under pixel (px, py), with rows `rowHeight` high from `top`. Bars under 3 px are hit 1 px either side. */
export function hitTest<S extends SpanLike>(layout: FlameLayout<S>, view: Viewport, width: number, rowHeight: number, top: number, px: number, py: number): FlameNode<S> | null {
  if (py < top) return null;
  const row = Math.floor((py - top) / rowHeight);
  let near: FlameNode<S> | null = null;
  for (const n of layout.nodes) {
    if (n.row !== row) continue;
    const r = barRect(n, view, width);
    if (!r) continue;
    if (px >= r.x && px <= r.x + r.w) return n;
    if (r.w < 3 && px >= r.x - 1 && px <= r.x + r.w + 1) near = n;
  }
  return near;
}

/** Tick marks for the time axis: round steps (1, 2 or 5 × 10^k ns), at least `minSpacing` px apart. */
export function timeTicks(view: Viewport, width: number, minSpacing = 80): number[] {
  const span = view.end - view.start;
  if (!(span > 0) || width <= 0) return [];
  const raw = (span * minSpacing) / width;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let t = Math.ceil(view.start / step) * step; t <= view.end + step * 1e-9; t += step) out.push(Math.round(t / step) * step);
  return out;
}

/** The longest start of `text` that fits in `maxWidth` (by `measure`), with `…` when cut; "" when not even one letter fits. */
export function clipLabel(text: string, maxWidth: number, measure: (s: string) => number): string {
  if (measure(text) <= maxWidth) return text;
  const chars = Array.from(text);
  let lo = 0;
  let hi = chars.length - 1;
  // Binary search for the most characters that fit with the ellipsis.
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (measure(chars.slice(0, mid).join("") + "…") <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return lo === 0 ? "" : chars.slice(0, lo).join("") + "…";
}

/** Light enough for dark text, and ten hues far enough apart to tell side by side. */
export const PALETTE = ["#8fb8ec", "#f4a261", "#7ccf9a", "#ef8a9a", "#b79be8", "#e9cf5b", "#5fc4c9", "#a5d15f", "#e08be0", "#a9b1c2"];

function hash(s: string): number {
  // FNV-1a, 32 bits.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A colour per service, from the service name's hash, so a service keeps its colour from trace
 * to trace; two services of one trace that hash alike get the next free colour (by name order). */
export function serviceColors(services: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const s of [...new Set(services)].sort()) {
    let i = hash(s) % PALETTE.length;
    if (used.size < PALETTE.length) while (used.has(i)) i = (i + 1) % PALETTE.length;
    used.add(i);
    out.set(s, PALETTE[i]);
  }
  return out;
}
