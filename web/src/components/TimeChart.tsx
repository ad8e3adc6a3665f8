// A small time-series chart (uPlot) for the process side panel and the APM service page. -1 (unreadable) is a gap.
// The chart is built once per set of series; a refresh only hands it new data, so hovering
// survives the panel's reloads.

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface ChartSeries {
  label: string;
  color: string;
  values: number[];
}

/** The indexes of values with no value on either side, which a line cannot show; null when none. */
function isolated(values: ArrayLike<number | null | undefined>): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] != null && values[i - 1] == null && values[i + 1] == null) out.push(i);
  }
  return out.length > 0 ? out : null;
}

function chartData(times: number[], series: ChartSeries[]): uPlot.AlignedData {
  return [times.map((t) => t / 1000), ...series.map((s) => s.values.map((v) => (v < 0 ? null : v)))];
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
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const range = useRef({ from: props.from, to: props.to });
  range.current = { from: props.from, to: props.to };
  const readable = props.series.some((s) => s.values.some((v) => v >= 0));
  const layout = props.series.map((s) => s.label).join(",");

  useEffect(() => {
    const el = host.current;
    if (!el || !readable) return;
    const fmt = props.format;
    const u = new uPlot(
      {
        width: el.clientWidth || 520,
        height: 120,
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: () => [range.current.from / 1000, range.current.to / 1000] },
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
        },
        axes: [
          { size: 28, font: "11px system-ui", grid: { stroke: "#eee" } },
          { size: 70, font: "11px system-ui", grid: { stroke: "#eee" }, values: (_u, splits) => splits.map((v) => fmt(v)) },
        ],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            fill: s.color + "22",
            spanGaps: false,
            // A value between gaps (one request in a quiet hour) is drawn as a dot.
            points: { size: 6, width: 2, filter: (u: uPlot, i: number, show: boolean) => (show ? null : isolated(u.data[i])) },
            value: (_u: uPlot, v: number | null) => (v == null ? "—" : fmt(v)),
          })),
        ],
      },
      chartData(props.times, props.series),
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: 120 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [readable, layout]);

  useEffect(() => {
    plot.current?.setData(chartData(props.times, props.series));
  }, [props.times, props.series, props.from, props.to]);

  return (
    <div class="chart" data-chart={props.title}>
      <h5>{props.title}</h5>
      {readable ? <div ref={host} /> : <div class="none">{props.emptyText ?? "No readable values in this range (the agent could not read them, or no history yet)."}</div>}
    </div>
  );
}
