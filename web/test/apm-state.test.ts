import { describe, expect, it } from "vitest";
import {
  DEFAULT_EXPLORER_VIEW,
  DEFAULT_SERVICES_VIEW,
  explorerPath,
  groupByBaseService,
  hostProcessesPath,
  matchRoute,
  nextSort,
  operationOptions,
  parseExplorerView,
  parseServicesView,
  parseServiceView,
  parseTraceView,
  rangeMs,
  servicePath,
  serviceQuery,
  servicesPath,
  sortRows,
  tracePath,
} from "../src/apm-state";

const search = (path: string) => path.slice(path.indexOf("?") === -1 ? path.length : path.indexOf("?"));

describe("APM routes", () => {
  it("match the pages, decoding service names and trace ids", () => {
    expect(matchRoute("/apm/services")).toEqual({ page: "apm-services" });
    expect(matchRoute("/apm")).toEqual({ page: "apm-services" });
    expect(matchRoute("/apm/services/")).toEqual({ page: "apm-services" });
    expect(matchRoute("/apm/services/web%20store%2Fv2")).toEqual({ page: "apm-service", service: "web store/v2" });
    expect(matchRoute("/apm/traces")).toEqual({ page: "apm-traces" });
    expect(matchRoute("/apm/trace/1234")).toEqual({ page: "apm-trace", traceId: "1234" });
    expect(matchRoute("/hosts")).toEqual({ page: "hosts" });
    expect(matchRoute("/processes")).toEqual({ page: "processes" });
    expect(matchRoute("/nowhere")).toEqual({ page: "processes" });
  });

  it("paths round-trip through the matcher", () => {
    const p = servicePath({ service: "web store/v2", resource: "GET /notes", range: "4h" });
    expect(p).toBe("/apm/services/web%20store%2Fv2?range=4h&resource=GET+%2Fnotes");
    expect(matchRoute(p.split("?")[0])).toEqual({ page: "apm-service", service: "web store/v2" });
    expect(parseServiceView("web store/v2", search(p)).resource).toBe("GET /notes");
  });
});

describe("APM page state in the URL", () => {
  it("the services list: defaults write nothing, every setting round-trips, unknown values fall back", () => {
    expect(servicesPath(DEFAULT_SERVICES_VIEW)).toBe("/apm/services");
    expect(parseServicesView("")).toEqual(DEFAULT_SERVICES_VIEW);
    const v = { range: "7d", env: "prod", sort: "p99", order: "asc" as const, groupByBase: true };
    expect(servicesPath(v)).toContain("group=base");
    expect(parseServicesView(search(servicesPath(v)))).toEqual(v);
    expect(parseServicesView("?sort=operation").sort).toBe("operation");
    expect(parseServicesView("?range=3y&sort=bogus&order=up")).toEqual(DEFAULT_SERVICES_VIEW);
  });

  it("a service page keeps range, env, resource and sort", () => {
    const v = { service: "notes", range: "15m", env: "dev", operation: "another_process", resource: "GET /notes", sort: "p95", order: "asc" as const };
    expect(parseServiceView("notes", search(servicePath(v)))).toEqual(v);
    expect(servicePath({ service: "notes" })).toBe("/apm/services/notes");
    expect(parseServiceView("notes", "")).toEqual({ service: "notes", range: "1h", env: "", operation: null, resource: null, sort: "total_duration", order: "desc" });
    expect(parseServiceView("notes", "?operation=").operation).toBe(null);
  });

  it("the explorer: entry spans only by default, entry=0 to list all", () => {
    expect(parseExplorerView("")).toEqual(DEFAULT_EXPLORER_VIEW);
    expect(explorerPath(DEFAULT_EXPLORER_VIEW)).toBe("/apm/traces");
    const v = { query: 'service:notes resource_name:"GET /notes"', range: "2d", entry: false };
    expect(parseExplorerView(search(explorerPath(v)))).toEqual(v);
    expect(explorerPath({ query: "service:notes" })).toBe("/apm/traces?q=service%3Anotes");
  });

  it("the trace view: selected span and tab", () => {
    expect(parseTraceView("42", "")).toEqual({ traceId: "42", span: null, tab: "flame" });
    const p = tracePath({ traceId: "42", span: "7", tab: "waterfall" });
    expect(p).toBe("/apm/trace/42?span=7&tab=waterfall");
    expect(parseTraceView("42", search(p))).toEqual({ traceId: "42", span: "7", tab: "waterfall" });
  });

  it("the processes of a span's host, quoted when needed", () => {
    expect(hostProcessesPath("web-1")).toBe("/processes?q=host%3Aweb-1");
    expect(new URLSearchParams(hostProcessesPath('my "box" 2').split("?")[1]).get("q")).toBe('host:"my \\"box\\" 2"');
  });

  it("explorer queries for a service and a resource quote what needs it", () => {
    expect(serviceQuery("notes")).toBe("service:notes");
    expect(serviceQuery("notes", "GET /notes")).toBe('service:notes resource_name:"GET /notes"');
    expect(serviceQuery("notes", "notes.list")).toBe("service:notes resource_name:notes.list");
    expect(serviceQuery("notes_helper", null, "long_running_process")).toBe("service:notes_helper operation_name:long_running_process");
  });

  it("ranges have lengths", () => {
    expect(rangeMs("15m")).toBe(900_000);
    expect(rangeMs("7d")).toBe(7 * 86_400_000);
    expect(rangeMs("bogus")).toBe(3_600_000);
  });
});

describe("client-side sorting", () => {
  const rows = [
    { service: "web", hits: 5, p99: 10 },
    { service: "db", hits: 50, p99: null },
    { service: "Cache", hits: 5, p99: 30 },
  ];

  it("sorts numbers and text either way, keeping ties in order and missing values last", () => {
    expect(sortRows(rows, "hits", "desc").map((r) => r.service)).toEqual(["db", "web", "Cache"]);
    expect(sortRows(rows, "hits", "asc").map((r) => r.service)).toEqual(["web", "Cache", "db"]);
    expect(sortRows(rows, "service", "asc").map((r) => r.service)).toEqual(["Cache", "db", "web"]);
    expect(sortRows(rows, "p99", "desc").map((r) => r.service)).toEqual(["Cache", "web", "db"]);
    expect(sortRows(rows, "p99", "asc").map((r) => r.service)).toEqual(["web", "Cache", "db"]);
    expect(rows[0].service).toBe("web");
  });

  it("a header click reverses the same column, or starts a new one in its natural order", () => {
    expect(nextSort({ sort: "hits", order: "desc" }, "hits", false)).toEqual({ sort: "hits", order: "asc" });
    expect(nextSort({ sort: "hits", order: "desc" }, "service", true)).toEqual({ sort: "service", order: "asc" });
    expect(nextSort({ sort: "service", order: "asc" }, "p99", false)).toEqual({ sort: "p99", order: "desc" });
  });
});

describe("operations and base services", () => {
  it("the operation selector offers the service's operations, and keeps one the range lacks", () => {
    const ops = [
      { name: "long_running_process", hits: 3, primary: true },
      { name: "another_process", hits: 1, primary: false },
    ];
    expect(operationOptions(ops, null)).toEqual(ops);
    expect(operationOptions(ops, "another_process")).toEqual(ops);
    expect(operationOptions(ops, "gone")).toEqual([...ops, { name: "gone", hits: null, primary: false }]);
    expect(operationOptions([], null)).toEqual([]);
  });

  it("integration services go right under their base service, in its env, keeping the order otherwise", () => {
    const rows = [
      { service: "requests", env: "dev", base_service: "notes" },
      { service: "calendar", env: "dev", base_service: null },
      { service: "notes", env: "prod", base_service: null },
      { service: "notes", env: "dev", base_service: null },
      { service: "sqlite", env: "dev", base_service: "notes" },
      { service: "flask", env: "qa", base_service: "notes" },
      { service: "orphan", env: "dev", base_service: "not-listed" },
    ];
    const grouped = groupByBaseService(rows).map(({ row, depth }) => `${depth ? "  " : ""}${row.service}/${row.env}`);
    expect(grouped).toEqual(["calendar/dev", "notes/prod", "  flask/qa", "notes/dev", "  requests/dev", "  sqlite/dev", "orphan/dev"]);
    expect(groupByBaseService([{ service: "self", env: "", base_service: "self" }])).toEqual([{ row: { service: "self", env: "", base_service: "self" }, depth: 0 }]);
  });
});
