// Which rows of a long table to draw and to fetch: only the ones in view, plus a margin.

/** The rows [first, last) that fill a viewport at `scrollTop`, with `overscan` rows either side. */
export function visibleRows(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  total: number,
  overscan = 10,
): { first: number; last: number } {
  const first = Math.min(total, Math.max(0, Math.floor(scrollTop / rowHeight) - overscan));
  const last = Math.min(total, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  return { first, last: Math.max(first, last) };
}

/** A page of rows held in memory: rows[offset .. offset + rows.length). */
export interface RowWindow {
  offset: number;
  count: number;
}

/** Whether `held` covers rows [first, last) (clamped to `total`). */
export function covers(held: RowWindow | null, first: number, last: number, total: number): boolean {
  if (!held) return false;
  const end = Math.min(last, total);
  return first >= held.offset && end <= held.offset + held.count;
}

/** The page to fetch so that [first, last) and a margin of `margin` rows on each side are held. */
export function pageAround(first: number, last: number, margin: number): RowWindow {
  const offset = Math.max(0, first - margin);
  return { offset, count: last + margin - offset };
}
