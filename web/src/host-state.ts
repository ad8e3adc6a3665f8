// A host's page and the Hosts page's readings: the page's path (`/hosts/<hostname>?range=4h`),
// the metric queries of its charts and of a host's latest readings, and their answers turned
// into chart lines and numbers. The metrics are the agent's core system checks, under Datadog's
// names, tagged with the host, every 15 s (docs/ui.md, "A host").

import { parseRange, withSearch } from "./apm-state";
import type { QueryAnswer, QuerySeries } from "./metrics-api";
import { alignSeries, DEFAULT_METRIC_RANGE, METRIC_RANGES } from "./metrics-state";

/** What a host's page shows: the host, and the range of its charts (the metrics page's ranges). */
export interface HostView {
  hostname: string;
  range: string;
}

export function parseHostView(hostname: string, search: string): HostView {
  return { hostname, range: parseRange(new URLSearchParams(search), METRIC_RANGES, DEFAULT_METRIC_RANGE) };
}

/** The host's page: `/hosts/<hostname>`, the range left out at its default. */
export function hostPath(view: HostView): string {
  return withSearch(`/hosts/${encodeURIComponent(view.hostname)}`, { range: view.range === DEFAULT_METRIC_RANGE ? null : view.range });
}

/** The Live Processes page narrowed to the host. */
export const hostProcessesPath = (hostname: string) => `/processes?q=${encodeURIComponent(`host:${hostname}`)}`;

/** How a chart's values are shown: percent (stored as percent, or as a fraction 0–1), a plain
 * number, bytes (stored in MiB) or bytes per second (stored in KiB/s or bytes/s). */
export type ChartUnit = "pct" | "fraction" | "number" | "mib" | "kib_s" | "bytes_s";

/** What a stored value is multiplied by to be shown in its chart's unit. */
export const UNIT_SCALE: Record<ChartUnit, number> = { pct: 1, fraction: 100, number: 1, mib: 1024 * 1024, kib_s: 1024, bytes_s: 1 };

/** One query of a chart: a metric, its name in the legend, and the tag it splits by (a line per device). */
export interface ChartLine {
  metric: string;
  label: string;
  by?: string;
}

/** A chart of the host page. */
export interface HostChart {
  id: string;
  title: string;
  unit: ChartUnit;
  stacked?: boolean;
  lines: ChartLine[];
}

export const HOST_CHARTS: readonly HostChart[] = [
  {
    id: "cpu",
    title: "CPU (% of all cores)",
    unit: "pct",
    stacked: true,
    lines: [
      { metric: "system.cpu.user", label: "user" },
      { metric: "system.cpu.system", label: "system" },
      { metric: "system.cpu.iowait", label: "iowait" },
      { metric: "system.cpu.stolen", label: "stolen" },
    ],
  },
  {
    id: "load",
    title: "Load average",
    unit: "number",
    lines: [
      { metric: "system.load.1", label: "1 min" },
      { metric: "system.load.5", label: "5 min" },
      { metric: "system.load.15", label: "15 min" },
    ],
  },
  {
    id: "load-norm",
    title: "Load per core",
    unit: "number",
    lines: [
      { metric: "system.load.norm.1", label: "1 min" },
      { metric: "system.load.norm.5", label: "5 min" },
      { metric: "system.load.norm.15", label: "15 min" },
    ],
  },
  {
    id: "memory",
    title: "Memory",
    unit: "mib",
    lines: [
      { metric: "system.mem.used", label: "used" },
      { metric: "system.mem.usable", label: "usable" },
    ],
  },
  {
    id: "swap",
    title: "Swap",
    unit: "mib",
    lines: [
      { metric: "system.swap.used", label: "used" },
      { metric: "system.swap.free", label: "free" },
    ],
  },
  { id: "disk", title: "Disk usage by device (%)", unit: "fraction", lines: [{ metric: "system.disk.in_use", label: "", by: "device" }] },
  {
    id: "io",
    title: "Disk IO",
    unit: "kib_s",
    lines: [
      { metric: "system.io.rkb_s", label: "read", by: "device" },
      { metric: "system.io.wkb_s", label: "write", by: "device" },
    ],
  },
  {
    id: "net",
    title: "Network by interface",
    unit: "bytes_s",
    lines: [
      { metric: "system.net.bytes_rcvd", label: "in", by: "device" },
      { metric: "system.net.bytes_sent", label: "out", by: "device" },
    ],
  },
];

/** The scope of one host's series. */
export const hostScope = (hostname: string) => `host:${hostname}`;

/** A metric query of `metric` in `scope`, averaged, split by `by`: `avg:system.io.rkb_s{host:h1} by {device}`. */
export const avgQuery = (metric: string, scope: string, by?: string) => `avg:${metric}{${scope}}${by ? ` by {${by}}` : ""}`;

/** Every chart's queries in one request, in HOST_CHARTS order (an answer's `query_index` counts them). */
export function hostChartsQuery(hostname: string, charts: readonly HostChart[] = HOST_CHARTS): string {
  return charts.flatMap((c) => c.lines.map((l) => avgQuery(l.metric, hostScope(hostname), l.by))).join(",");
}

/** A chart's lines ready to draw: one time axis, and each line's name and values in the chart's unit. */
export interface ChartData {
  chart: HostChart;
  times: number[];
  lines: Array<{ label: string; values: Array<number | null> }>;
}

/** The values of a series' tags (`["device:sda"]` → `sda`), or "" when it is not split. */
const groupName = (s: QuerySeries) => s.tag_set.map((t) => t.slice(t.indexOf(":") + 1)).join(",");

/** The answer to `hostChartsQuery` split back into its charts. A line split by device is one
 * line per device: `read sda`, `write sda`; `sda` alone when the query has no label. */
export function chartsFromAnswer(answer: QueryAnswer, charts: readonly HostChart[] = HOST_CHARTS): ChartData[] {
  let first = 0;
  return charts.map((chart) => {
    const indexes = chart.lines.map((_, i) => first + i);
    first += chart.lines.length;
    const series = (answer.series ?? []).filter((s) => indexes.includes(s.query_index));
    // Lines in query order, then by group (the server sorts each query's series by tag set).
    series.sort((a, b) => a.query_index - b.query_index);
    const { times, values } = alignSeries(series);
    const scale = UNIT_SCALE[chart.unit];
    return {
      chart,
      times,
      lines: series.map((s, i) => {
        const label = chart.lines[s.query_index - indexes[0]].label;
        const group = groupName(s);
        return { label: [label, group].filter(Boolean).join(" ") || s.metric, values: values[i].map((v) => (v == null ? null : v * scale)) };
      }),
    };
  });
}

/** The latest value of a series: its last point with a value, or null. */
export function lastValue(s: QuerySeries): number | null {
  for (let i = s.pointlist.length - 1; i >= 0; i--) {
    const v = s.pointlist[i][1];
    if (v != null) return v;
  }
  return null;
}

/** The metrics read for a host's latest numbers, by what they are called here. */
export const READING_METRICS = {
  cpuIdle: "system.cpu.idle",
  load1: "system.load.1",
  loadNorm1: "system.load.norm.1",
  memPctUsable: "system.mem.pct_usable",
  memTotal: "system.mem.total",
  cores: "system.cpu.num_cores",
  uptime: "system.uptime",
} as const;

export type ReadingKey = keyof typeof READING_METRICS;

/** What the Hosts page's columns need: CPU %, load and memory %. */
export const HOSTS_PAGE_READINGS: readonly ReadingKey[] = ["cpuIdle", "load1", "loadNorm1", "memPctUsable"];
/** What a host's page shows above its charts. */
export const HOST_PAGE_READINGS: readonly ReadingKey[] = Object.keys(READING_METRICS) as ReadingKey[];

/** How far back the latest readings are looked for: a few of the checks' 15 s runs. */
export const READINGS_WINDOW_MS = 5 * 60_000;

/** One grouped query per metric for every host in `scope` (not one per host): `avg:system.load.1{*} by {host}`, … */
export function readingsQuery(keys: readonly ReadingKey[], scope = "*"): string {
  return keys.map((k) => avgQuery(READING_METRICS[k], scope, "host")).join(",");
}

/** The latest value of each metric of `readingsQuery(keys)`, by host. */
export function latestByHost(answer: QueryAnswer, keys: readonly ReadingKey[]): Map<string, Partial<Record<ReadingKey, number>>> {
  const out = new Map<string, Partial<Record<ReadingKey, number>>>();
  for (const s of answer.series ?? []) {
    const key = keys[s.query_index];
    const host = s.tag_set.find((t) => t.startsWith("host:"))?.slice("host:".length);
    const v = lastValue(s);
    if (key == null || host == null || v == null) continue;
    const readings = out.get(host) ?? {};
    readings[key] = v;
    out.set(host, readings);
  }
  return out;
}

/** A host's latest numbers as shown; null where its metric has no recent point. */
export interface HostReadings {
  /** 100 − idle: the share of all cores busy. */
  cpuPct: number | null;
  load1: number | null;
  loadNorm1: number | null;
  /** 100 × (1 − usable fraction): memory in use. */
  memPct: number | null;
  memTotalBytes: number | null;
  cores: number | null;
  uptimeS: number | null;
}

const clampPct = (v: number) => Math.max(0, Math.min(100, v));

export function hostReadings(raw: Partial<Record<ReadingKey, number>> | undefined): HostReadings {
  const r = raw ?? {};
  return {
    cpuPct: r.cpuIdle == null ? null : clampPct(100 - r.cpuIdle),
    load1: r.load1 ?? null,
    loadNorm1: r.loadNorm1 ?? null,
    memPct: r.memPctUsable == null ? null : clampPct(100 * (1 - r.memPctUsable)),
    memTotalBytes: r.memTotal == null ? null : r.memTotal * UNIT_SCALE.mib,
    cores: r.cores ?? null,
    uptimeS: r.uptime ?? null,
  };
}

/** The badge of an agent check's status (`OK`, `WARNING`, `ERROR`): the service checks' colours. */
export function checkRunBadge(status: string): "ok" | "warning" | "critical" | "unknown" {
  switch (status.toUpperCase()) {
    case "OK":
      return "ok";
    case "WARNING":
      return "warning";
    case "ERROR":
      return "critical";
    default:
      return "unknown";
  }
}
