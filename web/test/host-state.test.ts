import { describe, expect, it } from "vitest";
import { matchRoute } from "../src/apm-state";
import { stackBands, stackValues } from "../src/chart-stack";
import {
  chartsFromAnswer,
  checkRunBadge,
  HOST_CHARTS,
  hostChartsQuery,
  hostPath,
  hostProcessesPath,
  hostReadings,
  HOSTS_PAGE_READINGS,
  lastValue,
  latestByHost,
  parseHostView,
  readingsQuery,
  type HostChart,
} from "../src/host-state";
import type { QueryAnswer, QuerySeries } from "../src/metrics-api";

const search = (path: string) => path.slice(path.indexOf("?") === -1 ? path.length : path.indexOf("?"));

/** A series of an answer, as the server sends it. */
function series(query_index: number, metric: string, tag_set: string[], pointlist: Array<[number, number | null]>): QuerySeries {
  return { metric, display_name: metric, expression: "", scope: "", tag_set, aggr: "avg", query_index, unit: null, interval: 10, length: pointlist.length, start: 0, end: 0, pointlist };
}

const answer = (s: QuerySeries[]): QueryAnswer => ({ status: "ok", query: "", from_date: 0, to_date: 0, group_by: [], series: s });

describe("a host's page lives at /hosts/<hostname>", () => {
  it("matches the path, decoding the host name, and leaves the Hosts page alone", () => {
    expect(matchRoute("/hosts/web-1")).toEqual({ page: "host", hostname: "web-1" });
    expect(matchRoute("/hosts/db%2F1.example.com/")).toEqual({ page: "host", hostname: "db/1.example.com" });
    expect(matchRoute("/hosts")).toEqual({ page: "hosts" });
    expect(matchRoute("/hosts/")).toEqual({ page: "hosts" });
  });

  it("writes the range only when it is not the default, and round-trips", () => {
    expect(hostPath({ hostname: "web-1", range: "1h" })).toBe("/hosts/web-1");
    const view = { hostname: "db/1 a", range: "1w" };
    const path = hostPath(view);
    expect(path).toBe("/hosts/db%2F1%20a?range=1w");
    const route = matchRoute(path.split("?")[0]);
    expect(route.page === "host" && parseHostView(route.hostname, search(path))).toEqual(view);
    expect(parseHostView("h", "?range=2d").range).toBe("1h");
  });

  it("links to the host's processes", () => {
    expect(hostProcessesPath("web-1")).toBe("/processes?q=host%3Aweb-1");
  });
});

describe("the charts' queries", () => {
  it("ask for every line of every chart in one request, scoped to the host", () => {
    const q = hostChartsQuery("web-1");
    const parts = q.split(",");
    expect(parts.length).toBe(HOST_CHARTS.reduce((n, c) => n + c.lines.length, 0));
    expect(parts.slice(0, 4)).toEqual(["avg:system.cpu.user{host:web-1}", "avg:system.cpu.system{host:web-1}", "avg:system.cpu.iowait{host:web-1}", "avg:system.cpu.stolen{host:web-1}"]);
    expect(parts).toContain("avg:system.disk.in_use{host:web-1} by {device}");
    expect(parts).toContain("avg:system.net.bytes_rcvd{host:web-1} by {device}");
  });

  it("split the answer back into charts by query index, with labels and units", () => {
    const charts: HostChart[] = [
      { id: "a", title: "A", unit: "pct", lines: [{ metric: "m.user", label: "user" }, { metric: "m.system", label: "system" }] },
      { id: "disk", title: "Disk", unit: "fraction", lines: [{ metric: "m.in_use", label: "", by: "device" }] },
      { id: "io", title: "IO", unit: "kib_s", lines: [{ metric: "m.r", label: "read", by: "device" }, { metric: "m.w", label: "write", by: "device" }] },
      { id: "mem", title: "Mem", unit: "mib", lines: [{ metric: "m.used", label: "used" }] },
    ];
    const out = chartsFromAnswer(
      answer([
        // Out of order, and with timestamps only some series have.
        series(1, "m.system", [], [[1000, 5], [2000, 6]]),
        series(0, "m.user", [], [[1000, 10], [3000, 12]]),
        series(2, "m.in_use", ["device:/dev/sda1"], [[1000, 0.5]]),
        series(2, "m.in_use", ["device:/dev/sdb1"], [[1000, 0.25]]),
        series(4, "m.w", ["device:sda"], [[1000, 2]]),
        series(3, "m.r", ["device:sda"], [[1000, 1]]),
      ]),
      charts,
    );
    expect(out.map((c) => c.chart.id)).toEqual(["a", "disk", "io", "mem"]);
    expect(out[0].times).toEqual([1000, 2000, 3000]);
    expect(out[0].lines).toEqual([
      { label: "user", values: [10, null, 12] },
      { label: "system", values: [5, 6, null] },
    ]);
    // A fraction is shown as percent, a group by its tag's value.
    expect(out[1].lines).toEqual([
      { label: "/dev/sda1", values: [50] },
      { label: "/dev/sdb1", values: [25] },
    ]);
    // KiB/s as bytes/s, labelled by query then device.
    expect(out[2].lines).toEqual([
      { label: "read sda", values: [1024] },
      { label: "write sda", values: [2048] },
    ]);
    // No data: no lines.
    expect(out[3]).toEqual({ chart: charts[3], times: [], lines: [] });
  });

  it("turn MiB into bytes", () => {
    const mem = HOST_CHARTS.findIndex((c) => c.id === "memory");
    const first = HOST_CHARTS.slice(0, mem).reduce((n, c) => n + c.lines.length, 0);
    const out = chartsFromAnswer(answer([series(first, "system.mem.used", [], [[1000, 2]])]));
    expect(out[mem].lines).toEqual([{ label: "used", values: [2 * 1024 * 1024] }]);
  });
});

describe("the latest readings", () => {
  it("are the last point that has a value", () => {
    expect(lastValue(series(0, "m", [], [[1, 3], [2, 4], [3, null]]))).toBe(4);
    expect(lastValue(series(0, "m", [], []))).toBeNull();
  });

  it("are one grouped query per metric for all hosts", () => {
    expect(readingsQuery(HOSTS_PAGE_READINGS)).toBe(
      "avg:system.cpu.idle{*} by {host},avg:system.load.1{*} by {host},avg:system.load.norm.1{*} by {host},avg:system.mem.pct_usable{*} by {host}",
    );
    expect(readingsQuery(["uptime"], "host:web-1")).toBe("avg:system.uptime{host:web-1} by {host}");
  });

  it("are read by host and metric, and computed as CPU %, load and memory %", () => {
    const byHost = latestByHost(
      answer([
        series(0, "system.cpu.idle", ["host:a"], [[1, 90], [2, 75]]),
        series(0, "system.cpu.idle", ["host:b"], [[1, 99]]),
        series(1, "system.load.1", ["host:a"], [[2, 1.5]]),
        series(2, "system.load.norm.1", ["host:a"], [[2, 0.375]]),
        series(3, "system.mem.pct_usable", ["host:a"], [[2, 0.6]]),
        // A series without a host, or without a point, adds nothing.
        series(3, "system.mem.pct_usable", ["host:N/A"], []),
      ]),
      HOSTS_PAGE_READINGS,
    );
    expect([...byHost.keys()]).toEqual(["a", "b"]);
    expect(hostReadings(byHost.get("a"))).toEqual({ cpuPct: 25, load1: 1.5, loadNorm1: 0.375, memPct: 40, memTotalBytes: null, cores: null, uptimeS: null });
    expect(hostReadings(byHost.get("b")).cpuPct).toBeCloseTo(1);
    expect(hostReadings(byHost.get("b")).memPct).toBeNull();
    expect(hostReadings(undefined).cpuPct).toBeNull();
  });

  it("keep percentages within 0 and 100, and memory total in bytes", () => {
    expect(hostReadings({ cpuIdle: 100.4, memPctUsable: -0.01, memTotal: 1024, cores: 8, uptime: 60 })).toEqual({
      cpuPct: 0,
      load1: null,
      loadNorm1: null,
      memPct: 100,
      memTotalBytes: 1024 ** 3,
      cores: 8,
      uptimeS: 60,
    });
  });
});

describe("stacked lines", () => {
  it("add each line to the ones under it; a missing value is a gap that adds nothing", () => {
    expect(
      stackValues([
        [1, 2, null, 4],
        [10, null, 30, 40],
        [100, 200, 300, null],
      ]),
    ).toEqual([
      [1, 2, null, 4],
      [11, null, 30, 44],
      [111, 202, 330, null],
    ]);
    expect(stackValues([])).toEqual([]);
  });

  it("fill each line's area down to the line under it", () => {
    expect(stackBands(4)).toEqual([{ series: [2, 1] }, { series: [3, 2] }, { series: [4, 3] }]);
    expect(stackBands(1)).toEqual([]);
  });
});

describe("an agent check's status", () => {
  it("takes the service checks' colours", () => {
    expect(["OK", "WARNING", "ERROR", "ok", "SKIPPED"].map(checkRunBadge)).toEqual(["ok", "warning", "critical", "ok", "unknown"]);
  });
});
