import { describe, expect, it } from "vitest";
import { DEFAULT_VIEW, parseProcessKey, parseView, processKey, savedState, viewFromSaved, viewSearch } from "../src/url-state";

describe("the page state lives in the URL", () => {
  it("a plain link is the default view, and the default view writes nothing", () => {
    expect(parseView("")).toEqual(DEFAULT_VIEW);
    expect(viewSearch(DEFAULT_VIEW)).toBe("");
  });

  it("round-trips every setting", () => {
    const view = {
      ...DEFAULT_VIEW,
      query: "java -kafka @cpu:>5",
      sort: "rss",
      order: "asc" as const,
      columns: ["host", "pid", "command", "rss", "fds"],
      by: ["command", "user"],
      tab: "scatter" as const,
      x: "threads",
      y: "vms",
      agg: "max" as const,
      xlog: true,
      ylog: true,
      dots: "user",
      range: "36h",
      process: "web-1|10|1700000000010",
    };
    const search = viewSearch(view);
    expect(parseView(search)).toEqual(view);
  });

  it("falls back to defaults for values it does not know", () => {
    const v = parseView("?sort=bogus&order=sideways&cols=pid,nope&tab=pie&x=name&agg=median&range=2y&by=a,b,c,d,e");
    expect(v.sort).toBe("cpu");
    expect(v.order).toBe("desc");
    expect(v.columns).toEqual(["pid"]);
    expect(v.tab).toBe("table");
    expect(v.x).toBe("cpu");
    expect(v.agg).toBe("avg");
    expect(v.range).toBe("1h");
    expect(v.by).toEqual(["a", "b", "c", "d"]);
  });

  it("a saved view keeps everything but the open process, and loads back", () => {
    const view = { ...DEFAULT_VIEW, query: "nginx", by: ["host"], process: "h|1|2" };
    const saved = savedState(view);
    expect("process" in saved).toBe(false);
    expect(viewFromSaved(JSON.parse(JSON.stringify(saved)))).toEqual({ ...view, process: null });
    expect(viewFromSaved({ query: 5, columns: "x" })).toEqual(DEFAULT_VIEW);
  });

  it("process keys carry host, pid and start", () => {
    expect(parseProcessKey(processKey("web-1", 10, 1700000000010))).toEqual({ host: "web-1", pid: 10, start: 1700000000010 });
    expect(parseProcessKey("web-1|x|1")).toBeNull();
    expect(parseProcessKey("nope")).toBeNull();
  });
});
