// The scatter plot's arithmetic, kept apart from drawing so it can be tested.

import type { ScatterPoint } from "./api";

/** A dot's radius in CSS pixels: its area grows with the processes it stands for. */
export function dotRadius(count: number, maxCount: number): number {
  if (maxCount <= 1) return 4;
  return 3 + 11 * Math.sqrt((count - 1) / (maxCount - 1));
}

/** The dots that can be drawn: a log axis cannot show zero or negative values (and -1 means unreadable). */
export function plottable(points: ScatterPoint[], xlog: boolean, ylog: boolean): { points: ScatterPoint[]; hidden: number } {
  const kept = points.filter((p) => (xlog ? p.x > 0 : p.x >= 0) && (ylog ? p.y > 0 : p.y >= 0));
  return { points: kept, hidden: points.length - kept.length };
}

/** The index of the dot nearest to (mx, my) within its radius plus `slack` pixels, or -1. */
export function nearestDot(dots: Array<{ px: number; py: number; r: number }>, mx: number, my: number, slack = 4): number {
  let best = -1;
  let bestDist = Infinity;
  dots.forEach((d, i) => {
    const dist = Math.hypot(d.px - mx, d.py - my);
    if (dist <= d.r + slack && dist < bestDist) {
      best = i;
      bestDist = dist;
    }
  });
  return best;
}

/** How a dot's group is named: its tag values (`java · app`), or `host pid N` for a process. */
export function groupLabel(group: Record<string, string | number | null>): string {
  if ("pid" in group && "host" in group && "start" in group) return `${group.host} pid ${group.pid}`;
  return Object.values(group)
    .map((v) => (v == null ? "(none)" : String(v)))
    .join(" · ");
}
