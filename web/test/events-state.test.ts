import { describe, expect, it } from "vitest";
import { matchRoute } from "../src/apm-state";
import { bucketCounts, checkStatus, checksPath, eventsPath, isLongText, parseChecksView, parseEventsView, parseTags, withTag } from "../src/events-state";

const search = (path: string) => path.slice(path.indexOf("?") === -1 ? path.length : path.indexOf("?"));

describe("the Events page's state lives in the URL", () => {
  it("a plain link is the default view and writes nothing", () => {
    expect(parseEventsView("")).toEqual({ range: "1h", q: "", tags: [], priority: "", id: null });
    expect(eventsPath(parseEventsView(""))).toBe("/events");
  });

  it("round-trips every setting", () => {
    const view = { range: "1d", q: "deploy failed", tags: ["env:prod", "service:web*"], priority: "low" as const, id: null };
    expect(parseEventsView(search(eventsPath(view)))).toEqual(view);
    expect(parseEventsView("?id=12").id).toBe("12");
  });

  it("falls back to defaults for values it does not know", () => {
    expect(parseEventsView("?range=2d&priority=urgent")).toMatchObject({ range: "1h", priority: "" });
  });
});

describe("tag filters", () => {
  it("a clicked tag is added once, at the end", () => {
    expect(withTag([], "env:prod")).toEqual(["env:prod"]);
    expect(withTag(["env:prod"], "host:a")).toEqual(["env:prod", "host:a"]);
    expect(withTag(["env:prod"], "env:prod")).toEqual(["env:prod"]);
  });

  it("a typed filter is split on commas, blanks around them dropped", () => {
    expect(parseTags(" env:prod , service:web*,, ")).toEqual(["env:prod", "service:web*"]);
    expect(parseTags("")).toEqual([]);
  });
});

describe("the Service Checks page", () => {
  it("names status codes", () => {
    expect([0, 1, 2, 3, 7].map(checkStatus)).toEqual(["ok", "warning", "critical", "unknown", "unknown"]);
  });

  it("keeps its search, status and tags in the URL", () => {
    const view = { q: "app.", status: "critical" as const, tags: ["db:main"] };
    expect(checksPath(view)).toBe("/checks?q=app.&status=critical&tags=db%3Amain");
    expect(parseChecksView(search(checksPath(view)))).toEqual(view);
    expect(parseChecksView("?status=bad")).toEqual({ q: "", status: "", tags: [] });
    expect(checksPath({ q: "", status: "", tags: [] })).toBe("/checks");
  });
});

describe("the events-over-time strip", () => {
  it("counts times per equal slice of the range, leaving out those outside it", () => {
    expect(bucketCounts([0, 5, 10, 99, 100, 150, -1], 0, 100, 4)).toEqual({ starts: [0, 25, 50, 75], counts: [3, 0, 0, 2] });
    expect(bucketCounts([], 0, 100, 2).counts).toEqual([0, 0]);
  });

  it("collapses long or many-line text", () => {
    expect(isLongText("short")).toBe(false);
    expect(isLongText("x".repeat(401))).toBe(true);
    expect(isLongText("a\nb\nc\nd\ne\nf\ng")).toBe(true);
  });
});

describe("the pages' paths", () => {
  it("route /metrics, /events and /checks, with or without a trailing slash", () => {
    expect(matchRoute("/metrics")).toEqual({ page: "metrics" });
    expect(matchRoute("/events/")).toEqual({ page: "events" });
    expect(matchRoute("/checks")).toEqual({ page: "checks" });
  });
});
