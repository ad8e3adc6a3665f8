// Stacking a chart's lines (CPU user + system + iowait + stolen): each line is drawn at the sum
// of itself and the lines under it, and the area between two neighbours is filled. Pure, unit-tested
// in test/host-state.test.ts.

/** Each series' values added to the ones before it (the first is the bottom). A missing value
 * stays missing (a gap) and adds nothing to the lines above it. */
export function stackValues(values: ReadonlyArray<ReadonlyArray<number | null>>): Array<Array<number | null>> {
  const length = Math.max(0, ...values.map((v) => v.length));
  const sum: number[] = new Array(length).fill(0);
  return values.map((v) =>
    Array.from({ length }, (_, i) => {
      const x = v[i];
      if (x == null) return null;
      sum[i] += x;
      return sum[i];
    }),
  );
}

/** uPlot's bands for stacked series 1..n (uPlot counts the x values as series 0): each line's
 * area reaches down to the line under it, not to 0. */
export function stackBands(count: number): Array<{ series: [number, number] }> {
  return Array.from({ length: Math.max(0, count - 1) }, (_, i) => ({ series: [i + 2, i + 1] as [number, number] }));
}
