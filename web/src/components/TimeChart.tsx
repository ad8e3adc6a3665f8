// A time-series chart (uPlot) for the process side panel, the APM service page, the metrics
// explorer and the host page. null is a gap, and so is -1 (unreadable) unless the chart takes
// negative values. The chart is built once per set of series; a refresh only hands it new data,
// so hovering survives the panel's reloads. Stacked charts draw each line on the ones before it
// while the legend shows each line's own value.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { stackBands, stackValues } from "../chart-stack";

export interface ChartSeries {
  label: string;
  color: string;
  values: Array<number | null>;
}

/** Line colours far enough apart to tell side by side (Tableau 10, the accent first). */
export const LINE_COLORS = ["#632ca6", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

/** The indexes of values with no value on either side, which a line cannot show; null when none. */
function isolated(values: ArrayLike<number | null | undefined>): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && values[i - 1] == null && values[i + 1] == null) out.push(i);
  }
  return out.length > 0 ? out : null;
}

/** The values as drawn: gaps for the unreadable, and stacked when asked. */
function drawnValues(series: ChartSeries[], negative: boolean, stacked: boolean): Array<Array<number | null>> {
  const values = series.map((s) => s.values.map((v) => (v == null || (!negative && v < 0) ? null : v)));
  return stacked ? stackValues(values) : values;
}

function chartData(times: number[], series: ChartSeries[], negative: boolean, stacked: boolean): uPlot.AlignedData {
  return [times.map((t) => t / 1000), ...drawnValues(series, negative, stacked)];
}

/** The y axis' width: its longest label (`4.77 MiB/s`) and the ticks' room, at least 40 px. */
function yAxisSize(u: uPlot, values: string[] | null): number {
  const longest = (values ?? []).reduce((a, v) => (v.length > a.length ? v : a), "");
  // uPlot sets the axes' own font again before it draws them.
  u.ctx.font = AXIS_FONT;
  return Math.max(40, Math.ceil(u.ctx.measureText(longest).width) + 18);
}

const AXIS_FONT = "11px system-ui";

/** The y range: from 0 (or below it, for negative values) to a little over the top. */
function yRange(min: number, max: number): uPlot.Range.MinMax {
  const lo = min < 0 ? min * 1.1 : 0;
  return [lo, max > 0 ? max * 1.1 : lo < 0 ? 0 : 1];
}

export function TimeChart(props: {
  title: string;
  /** The range shown, ms since the epoch: the whole chosen range, however few samples it has. */
  from: number;
  to: number;
  times: number[];
  series: ChartSeries[];
  format: (v: number) => string;
  /** What is said when no value is readable (the process panel's wording by default). */
  emptyText?: string;
  /** The plot's height in pixels (120 by default). */
  height?: number;
  /** Negative values are values, not "unreadable" gaps (metrics). */
  negative?: boolean;
  /** Lines join across missing values instead of breaking there. */
  spanGaps?: boolean;
  /** Bars instead of lines (counts per time step). */
  bars?: boolean;
  /** Each line drawn on top of the ones before it, the areas between them filled (parts of a whole). */
  stacked?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const range = useRef({ from: props.from, to: props.to });
  range.current = { from: props.from, to: props.to };
  const negative = props.negative ?? false;
  const stacked = props.stacked ?? false;
  const height = props.height ?? 120;
  // The legend reads each line's own values, which a stacked chart does not draw.
  const own = useRef(props.series);
  own.current = props.series;
  const readable = props.series.some((s) => s.values.some((v) => v != null && (negative || v >= 0)));
  const layout = `${props.series.map((s) => `${s.label}|${s.color}`).join(",")}|${height}|${negative}|${props.spanGaps}|${props.bars}|${stacked}`;

  useEffect(() => {
    const el = host.current;
    if (!el || !readable) return;
    const fmt = props.format;
    const u = new uPlot(
      {
        width: el.clientWidth || 520,
        height,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: () => [range.current.from / 1000, range.current.to / 1000] },
          y: { range: (_u, min, max) => yRange(min, max) },
        },
        bands: stacked ? stackBands(props.series.length) : undefined,
        axes: [
          { size: 28, font: AXIS_FONT, grid: { stroke: "#eee" } },
          { size: yAxisSize, font: AXIS_FONT, grid: { stroke: "#eee" }, values: (_u, splits) => splits.map((v) => fmt(v)) },
        ],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            fill: s.color + (props.bars ? "bb" : stacked ? "66" : "22"),
            spanGaps: props.spanGaps ?? false,
            // A value between gaps (one request in a quiet hour) is drawn as a dot.
            points: { size: 6, width: 2, filter: (u: uPlot, i: number, show: boolean) => (show ? null : isolated(u.data[i])) },
            ...(props.bars ? { paths: uPlot.paths.bars!({ size: [0.9, 40] }), points: { show: false } } : {}),
            value: (_u: uPlot, v: number | null, si: number, i: number | null) => {
              const x = stacked ? (i == null ? null : own.current[si - 1]?.values[i]) : v;
              return x == null ? "—" : fmt(x);
            },
          })),
        ],
      },
      chartData(props.times, props.series, negative, stacked),
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readable, layout]);

  useEffect(() => {
    plot.current?.setData(chartData(props.times, props.series, negative, stacked));
  }, [props.times, props.series, props.from, props.to]);

  return (
    <div class="chart" data-chart={props.title}>
      <h5>{props.title}</h5>
      {readable ? <div ref={host} /> : <div class="none">{props.emptyText ?? "No readable values in this range (the agent could not read them, or no history yet)."}</div>}
    </div>
  );
}
