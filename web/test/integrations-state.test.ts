import { describe, expect, it } from "vitest";
import { matchRoute } from "../src/apm-state";
import {
  activePreset,
  configuredIntegrationOf,
  filterIntegrations,
  integrationMetricsQuery,
  integrationPath,
  integrationProcessesPath,
  integrationsPath,
  metricCharts,
  parseIntegrationsView,
  parseIntegrationView,
  sortIntegrations,
  statusBadge,
  viewPresets,
  type CatalogEntry,
  type Integration,
} from "../src/integrations-state";
import type { QueryAnswer, QuerySeries } from "../src/metrics-api";

function integration(id: string, name: string, status: Integration["status"], extra: Partial<Integration> = {}): Integration {
  return {
    id,
    name,
    signatures: [],
    metrics: [],
    query: id,
    status,
    status_label: status ?? "Not detected",
    hosts_running: 1,
    hosts_configured: 0,
    hosts_unconfigured: 1,
    processes: 1,
    ...extra,
  };
}

const CATALOG: CatalogEntry[] = [
  { id: "nginx", name: "NGINX", query: "nginx" },
  { id: "redisdb", name: "Redis", query: "redis-server" },
  { id: "postgres", name: "PostgreSQL", query: "postgres" },
  { id: "mysql", name: "MySQL", query: "mysqld OR mariadbd" },
];

describe("the integrations pages live at /integrations and /integrations/<id>", () => {
  it("matches the paths, decoding the id", () => {
    expect(matchRoute("/integrations")).toEqual({ page: "integrations" });
    expect(matchRoute("/integrations/")).toEqual({ page: "integrations" });
    expect(matchRoute("/integrations/redisdb")).toEqual({ page: "integration", id: "redisdb" });
    expect(matchRoute("/integrations/php%5Ffpm")).toEqual({ page: "integration", id: "php_fpm" });
  });

  it("keeps the list's filter and the detail's tab in the URL, defaults left out", () => {
    expect(integrationsPath({ status: "", q: "" })).toBe("/integrations");
    const v = { status: "partial" as const, q: "red" };
    expect(parseIntegrationsView(integrationsPath(v).slice("/integrations".length))).toEqual(v);
    expect(parseIntegrationsView("?status=bogus")).toEqual({ status: "", q: "" });
    expect(integrationPath({ id: "redisdb", tab: "hosts" })).toBe("/integrations/redisdb");
    expect(integrationPath({ id: "redisdb", tab: "about" })).toBe("/integrations/redisdb?tab=about");
    expect(parseIntegrationView("redisdb", "?tab=about")).toEqual({ id: "redisdb", tab: "about" });
    expect(parseIntegrationView("redisdb", "?tab=x")).toEqual({ id: "redisdb", tab: "hosts" });
  });
});

describe("the list", () => {
  const list = [integration("redisdb", "Redis", "detected"), integration("nginx", "NGINX", "installed"), integration("postgres", "PostgreSQL", "partial"), integration("apache", "Apache", "detected")];

  it("puts Installed first, then Partial Visibility, then Detected, by name", () => {
    expect(sortIntegrations(list).map((i) => i.id)).toEqual(["nginx", "postgres", "apache", "redisdb"]);
  });

  it("filters by status and by text in the name or id", () => {
    expect(filterIntegrations(list, { status: "detected", q: "" }).map((i) => i.id)).toEqual(["apache", "redisdb"]);
    expect(filterIntegrations(list, { status: "", q: "RED" }).map((i) => i.id)).toEqual(["redisdb"]);
    expect(filterIntegrations(list, { status: "installed", q: "red" })).toEqual([]);
  });

  it("gives each status its badge", () => {
    expect([statusBadge("detected"), statusBadge("partial"), statusBadge("installed"), statusBadge(null)]).toEqual(["detected", "partial", "installed", "unknown"]);
  });
});

describe("the Views menu of Live Processes", () => {
  it("lists the presets running somewhere first, with their counts, then the rest by name", () => {
    const running = [integration("redisdb", "Redis", "detected", { processes: 2 }), integration("postgres", "PostgreSQL", "installed", { processes: 5 })];
    expect(viewPresets(CATALOG, running).map((p) => [p.id, p.processes])).toEqual([
      ["postgres", 5],
      ["redisdb", 2],
      ["mysql", 0],
      ["nginx", 0],
    ]);
  });

  it("marks the preset whose query the page has", () => {
    expect(activePreset("redis-server", CATALOG)?.id).toBe("redisdb");
    expect(activePreset("  mysqld OR mariadbd ", CATALOG)?.id).toBe("mysql");
    expect(activePreset("redis-server host:a", CATALOG)).toBeNull();
    expect(activePreset("", CATALOG)).toBeNull();
  });

  it("scopes the processes link to a host, parenthesizing an OR query", () => {
    expect(integrationProcessesPath("redis-server")).toBe("/processes?q=redis-server");
    expect(decodeURIComponent(integrationProcessesPath("redis-server", "db-1"))).toBe("/processes?q=host:db-1 redis-server");
    expect(decodeURIComponent(integrationProcessesPath("mysqld OR mariadbd", "db-1"))).toBe("/processes?q=host:db-1 (mysqld OR mariadbd)");
  });
});

describe("the side panel's Integration metrics tab", () => {
  const host = (pids: number[], configured: boolean) => ({ hostname: "db-1", processes: pids.length, pids, configured, checks: [] });
  const redis = integration("redisdb", "Redis", "installed", {
    host: host([10], true),
    metrics: [
      { name: "redis.net.clients", label: "connected clients", unit: "number" },
      { name: "redis.mem.used", label: "memory used", unit: "bytes" },
      { name: "postgresql.percent_usage_connections", label: "used", unit: "fraction" },
    ],
  });
  const pg = integration("postgres", "PostgreSQL", "detected", { host: host([20], false) });

  it("is shown for a process of an integration configured on its host, not for an unconfigured one", () => {
    expect(configuredIntegrationOf([pg, redis], 10)?.id).toBe("redisdb");
    expect(configuredIntegrationOf([pg, redis], 20)).toBeNull();
    expect(configuredIntegrationOf([pg, redis], 99)).toBeNull();
    expect(configuredIntegrationOf([integration("x", "X", "detected")], 10)).toBeNull();
  });

  it("asks for every key metric on the host in one query, and splits the answer back per metric", () => {
    expect(integrationMetricsQuery(redis, "db-1")).toBe("avg:redis.net.clients{host:db-1},avg:redis.mem.used{host:db-1},avg:postgresql.percent_usage_connections{host:db-1}");
    const s = (query_index: number, metric: string, tag_set: string[], pointlist: Array<[number, number | null]>): QuerySeries => ({
      metric,
      display_name: metric,
      expression: "",
      scope: "",
      tag_set,
      aggr: "avg",
      query_index,
      unit: null,
      interval: 10,
      length: pointlist.length,
      start: 0,
      end: 0,
      pointlist,
    });
    const answer: QueryAnswer = {
      status: "ok",
      query: "",
      from_date: 0,
      to_date: 0,
      group_by: [],
      series: [
        s(0, "redis.net.clients", [], [
          [1000, 3],
          [2000, 4],
        ]),
        s(2, "postgresql.percent_usage_connections", [], [[2000, 0.25]]),
      ],
    };
    const charts = metricCharts(redis, answer);
    expect(charts.map((c) => c.metric.name)).toEqual(["redis.net.clients", "redis.mem.used", "postgresql.percent_usage_connections"]);
    expect(charts[0]).toMatchObject({ times: [1000, 2000], lines: [{ label: "connected clients", values: [3, 4] }] });
    expect(charts[1].lines).toEqual([]);
    expect(charts[2].lines[0].values).toEqual([25]);
  });
});
