import { describe, expect, it } from "vitest";
import { barRect, clipLabel, fullView, hitTest, isFullView, layoutTrace, PALETTE, serviceColors, timeTicks, toPx, zoomTo, type SpanLike } from "../src/flame";

const T0 = 1732183200123456789n;

/** A span starting `at` ns after T0 and lasting `dur` ns. */
function span(id: string, parent: string, at: number, dur: number): SpanLike & { name: string } {
  return { span_id: id, parent_id: parent, start: String(T0 + BigInt(at)), duration: dur, name: id };
}

const ids = (nodes: Array<{ span: { span_id: string } }>) => nodes.map((n) => n.span.span_id);

describe("flame graph layout", () => {
  it("nests spans by parent id, in tree order with siblings by start", () => {
    const l = layoutTrace([span("c2", "b", 600, 100), span("a", "0", 0, 1000), span("b", "a", 100, 800), span("c1", "b", 200, 300), span("d", "a", 950, 40)]);
    expect(ids(l.nodes)).toEqual(["a", "b", "c1", "c2", "d"]);
    expect(l.nodes.map((n) => n.depth)).toEqual([0, 1, 2, 2, 1]);
    expect(l.nodes.map((n) => n.row)).toEqual([0, 1, 2, 2, 1]);
    expect(l.rows).toBe(3);
    expect(l.duration).toBe(1000);
    expect(l.traceStart).toBe(T0);
    expect(l.nodes[1].children.map((i) => l.nodes[i].span.span_id)).toEqual(["c1", "c2"]);
    expect(l.nodes[2].parent).toBe(1);
  });

  it("keeps start times exact at nanosecond precision beyond a double's range", () => {
    const l = layoutTrace([span("a", "0", 0, 10), span("b", "a", 3, 1)]);
    expect(l.nodes[1].start).toBe(3);
    expect(l.nodes[1].end).toBe(4);
  });

  it("stacks concurrent siblings on separate rows instead of drawing them over each other", () => {
    const l = layoutTrace([span("a", "0", 0, 1000), span("b", "a", 100, 500), span("c", "a", 200, 500), span("e", "a", 700, 100)]);
    const row = Object.fromEntries(l.nodes.map((n) => [n.span.span_id, n.row]));
    expect(row).toEqual({ a: 0, b: 1, c: 2, e: 1 });
    expect(l.nodes.find((n) => n.span.span_id === "c")!.depth).toBe(1);
  });

  it("draws spans whose parent is missing at depth 0, under the root", () => {
    const l = layoutTrace([span("x", "999", 300, 100), span("a", "0", 0, 1000), span("y", "x", 310, 50)]);
    expect(ids(l.nodes)).toEqual(["a", "x", "y"]);
    const x = l.nodes[1];
    expect(x.depth).toBe(0);
    expect(x.parent).toBe(-1);
    expect(x.row).toBe(1);
    expect(l.nodes[2].depth).toBe(1);
    expect(l.nodes[2].row).toBe(2);
  });

  it("puts the named root first even when another span has no parent", () => {
    const l = layoutTrace([span("orphan", "77", 0, 50), span("root", "0", 10, 100)], "root");
    expect(ids(l.nodes)).toEqual(["root", "orphan"]);
    expect(l.nodes[1].row).toBe(1);
  });

  it("survives parent cycles, self-parents and duplicate ids: every span is laid out once", () => {
    const l = layoutTrace([span("a", "b", 0, 10), span("b", "a", 5, 10), span("s", "s", 0, 3), span("d", "0", 0, 20), span("d", "0", 1, 2)]);
    expect(l.nodes.length).toBe(5);
    expect(new Set(l.nodes.map((n) => n.span)).size).toBe(5);
  });

  it("gives zero-length spans a row of their own at the same instant", () => {
    const l = layoutTrace([span("a", "0", 0, 100), span("b", "a", 50, 0), span("c", "a", 50, 0)]);
    expect(l.nodes.map((n) => n.row)).toEqual([0, 1, 2]);
  });

  it("lays out a deep chain without recursion", () => {
    const spans = Array.from({ length: 20_000 }, (_, i) => span(String(i + 1), String(i), i, 20_000 - i));
    const l = layoutTrace(spans);
    expect(l.rows).toBe(20_000);
    expect(l.nodes[19_999].depth).toBe(19_999);
  });

  it("an empty trace has no rows", () => {
    expect(layoutTrace([]).nodes).toEqual([]);
  });
});

describe("flame graph geometry and zoom", () => {
  const l = layoutTrace([span("a", "0", 0, 1000), span("b", "a", 250, 500), span("c", "b", 300, 0)]);
  const [a, b, c] = l.nodes;

  it("maps time to pixels across the width", () => {
    const v = fullView(l);
    expect(v).toEqual({ start: 0, end: 1000 });
    expect(toPx(250, v, 800)).toBe(200);
    expect(barRect(b, v, 800)).toEqual({ x: 200, w: 400 });
    // A zero-length span is still 1 px wide.
    expect(barRect(c, v, 800)).toEqual({ x: 240, w: 1 });
  });

  it("zooming to a span fills the width with it and clips the others", () => {
    const v = zoomTo(b, l);
    expect(v).toEqual({ start: 250, end: 750 });
    expect(isFullView(v, l)).toBe(false);
    expect(barRect(b, v, 800)).toEqual({ x: 0, w: 800 });
    expect(barRect(a, v, 800)).toEqual({ x: 0, w: 800 });
    const out = layoutTrace([span("a", "0", 0, 1000), span("b", "a", 0, 100), span("c", "a", 900, 100)]);
    expect(barRect(out.nodes[2], zoomTo(out.nodes[1], out), 800)).toBeNull();
  });

  it("zooming to a zero-length span shows a thousandth of the trace around it", () => {
    const v = zoomTo(c, l);
    expect(v.end - v.start).toBe(1);
    expect((v.start + v.end) / 2).toBe(300);
  });

  it("finds the bar under the pointer, row by row, and thin bars within a pixel", () => {
    const v = fullView(l);
    const rowH = 20;
    const top = 24;
    expect(hitTest(l, v, 800, rowH, top, 100, top + 5)?.span.span_id).toBe("a");
    expect(hitTest(l, v, 800, rowH, top, 300, top + 25)?.span.span_id).toBe("b");
    expect(hitTest(l, v, 800, rowH, top, 100, top + 25)).toBeNull();
    expect(hitTest(l, v, 800, rowH, top, 241.5, top + 45)?.span.span_id).toBe("c");
    expect(hitTest(l, v, 800, rowH, top, 100, 10)).toBeNull();
  });

  it("ticks fall on round steps inside the view", () => {
    expect(timeTicks({ start: 0, end: 1_000_000 }, 800)).toEqual([0, 100_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000, 1_000_000]);
    const t = timeTicks({ start: 250, end: 750 }, 400);
    expect(t).toEqual([300, 400, 500, 600, 700]);
    expect(timeTicks({ start: 0, end: 0 }, 400)).toEqual([]);
  });
});

describe("flame graph labels and colours", () => {
  const measure = (s: string) => s.length * 7;

  it("clips a label to the bar with an ellipsis, or leaves it out", () => {
    expect(clipLabel("GET /notes", 100, measure)).toBe("GET /notes");
    expect(clipLabel("GET /notes", 42, measure)).toBe("GET /…");
    expect(clipLabel("GET /notes", 10, measure)).toBe("");
  });

  it("gives each service a stable colour, distinct within a trace", () => {
    const one = serviceColors(["web", "db", "cache"]);
    const two = serviceColors(["cache", "web", "db", "web"]);
    expect([...one.entries()].sort()).toEqual([...two.entries()].sort());
    expect(new Set(one.values()).size).toBe(3);
    const many = serviceColors(Array.from({ length: PALETTE.length }, (_, i) => `svc-${i}`));
    expect(new Set(many.values()).size).toBe(PALETTE.length);
    // More services than colours still colours them all.
    expect(serviceColors(Array.from({ length: 20 }, (_, i) => `s${i}`)).size).toBe(20);
  });
});
