import { describe, expect, it } from "vitest";
import { covers, pageAround, visibleRows } from "../src/virtual";
import { dotRadius, groupLabel, nearestDot, plottable } from "../src/scatter-math";

describe("virtual rows", () => {
  it("draws only the rows in view plus a margin", () => {
    expect(visibleRows(0, 240, 24, 5000, 5)).toEqual({ first: 0, last: 15 });
    expect(visibleRows(2400, 240, 24, 5000, 5)).toEqual({ first: 95, last: 115 });
    expect(visibleRows(1e9, 240, 24, 50, 5)).toEqual({ first: 50, last: 50 });
  });

  it("knows when the rows held cover the view, and what to fetch when not", () => {
    expect(covers({ offset: 0, count: 200 }, 90, 120, 5000)).toBe(true);
    expect(covers({ offset: 0, count: 200 }, 190, 220, 5000)).toBe(false);
    expect(covers({ offset: 0, count: 30 }, 0, 60, 30)).toBe(true);
    expect(covers(null, 0, 1, 1)).toBe(false);
    expect(pageAround(190, 220, 100)).toEqual({ offset: 90, count: 230 });
    expect(pageAround(10, 40, 100)).toEqual({ offset: 0, count: 140 });
  });
});

describe("scatter arithmetic", () => {
  it("sizes dots by process count and hides what a log axis cannot show", () => {
    expect(dotRadius(1, 1)).toBe(4);
    expect(dotRadius(1, 100)).toBe(3);
    expect(dotRadius(100, 100)).toBe(14);
    const pts = [
      { group: { command: "a" }, x: 0, y: 10, count: 1 },
      { group: { command: "b" }, x: 5, y: -1, count: 1 },
      { group: { command: "c" }, x: 5, y: 10, count: 2 },
    ];
    expect(plottable(pts, false, false).hidden).toBe(1);
    expect(plottable(pts, true, false)).toEqual({ points: [pts[2]], hidden: 2 });
  });

  it("finds the dot under the pointer", () => {
    const dots = [
      { px: 10, py: 10, r: 4 },
      { px: 30, py: 10, r: 10 },
    ];
    expect(nearestDot(dots, 11, 11)).toBe(0);
    expect(nearestDot(dots, 38, 10)).toBe(1);
    expect(nearestDot(dots, 100, 100)).toBe(-1);
  });

  it("names groups and processes", () => {
    expect(groupLabel({ command: "java", user: null })).toBe("java · (none)");
    expect(groupLabel({ host: "web-1", pid: 10, start: 1 })).toBe("web-1 pid 10");
  });
});
