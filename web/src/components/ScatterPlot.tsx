// The scatter plot: one dot per group (by `command` unless chosen otherwise) or per process,
// placed by two metrics on linear or log axes, sized by how many processes it stands for.
// uPlot draws the axes and grid; the dots are drawn in its draw hook so each can have a size.

import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { ScatterPoint } from "../api";
import { field, formatField } from "../fields";
import { formatCount } from "../format";
import { dotRadius, groupLabel, nearestDot, plottable } from "../scatter-math";

interface Props {
  points: ScatterPoint[];
  x: string;
  y: string;
  xlog: boolean;
  ylog: boolean;
  onPick: (point: ScatterPoint) => void;
}

/** Dots listed for keyboard and screen-reader users, at most. */
const MAX_LISTED = 200;

const axisValues = (name: string) => (_u: uPlot, splits: number[]) => splits.map((v) => (v == null ? "" : formatField(name, v)));

export function ScatterPlot(props: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const dots = useRef<Array<{ px: number; py: number; r: number; point: ScatterPoint }>>([]);
  const latest = useRef(props);
  latest.current = props;
  const [tip, setTip] = useState<{ left: number; right: boolean; top: number; point: ScatterPoint } | null>(null);
  // The dots as drawn, for the keyboard-usable list under the canvas (re-rendered after each draw).
  const [drawn, setDrawn] = useState<Array<{ px: number; py: number; r: number; point: ScatterPoint }>>([]);

  const { points, hidden } = plottable(props.points, props.xlog, props.ylog);
  const maxCount = points.reduce((m, p) => Math.max(m, p.count), 1);
  // What the draw hook draws: the dots of the latest render.
  const shown = useRef({ points, maxCount });
  shown.current = { points, maxCount };

  // The chart is rebuilt when the axes change; new data alone only calls setData.
  useEffect(() => {
    const el = host.current!;
    const draw = (u: uPlot) => {
      const ctx = u.ctx;
      const ratio = window.devicePixelRatio || 1;
      const { points: pts, maxCount: max } = shown.current;
      dots.current = pts.map((p) => ({ px: u.valToPos(p.x, "x"), py: u.valToPos(p.y, "y"), r: dotRadius(p.count, max), point: p }));
      // Not clipped to the plot area: a dot at 0 or at the top may reach into the axis margin.
      ctx.save();
      // Largest first, so small dots stay visible on top.
      for (const d of [...dots.current].sort((a, b) => b.r - a.r)) {
        ctx.beginPath();
        ctx.arc(u.valToPos(d.point.x, "x", true), u.valToPos(d.point.y, "y", true), d.r * ratio, 0, 2 * Math.PI);
        ctx.fillStyle = "rgba(99, 44, 166, 0.45)";
        ctx.strokeStyle = "rgba(99, 44, 166, 0.9)";
        ctx.lineWidth = ratio;
        ctx.fill();
        ctx.stroke();
      }
      ctx.restore();
      setDrawn(dots.current.slice(0, MAX_LISTED));
    };
    const xs = axisValues(props.x);
    const ys = axisValues(props.y);
    const opts: uPlot.Options = {
      width: el.clientWidth || 800,
      height: el.clientHeight || 400,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: props.xlog ? { time: false, distr: 3 } : { time: false, range: padded },
        y: props.ylog ? { distr: 3 } : { range: padded },
      },
      axes: [
        { label: field(props.x).label, values: xs, size: 40 },
        { label: field(props.y).label, values: ys, size: 80 },
      ],
      series: [{}, { paths: () => null, points: { show: false } }],
      hooks: { draw: [draw] },
    };
    const u = new uPlot(opts, toData(points), el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: el.clientWidth, height: el.clientHeight }));
    ro.observe(el);
    const hit = (e: MouseEvent) => {
      const rect = u.over.getBoundingClientRect();
      const i = nearestDot(dots.current, e.clientX - rect.left, e.clientY - rect.top);
      return i < 0 ? null : dots.current[i];
    };
    const onMove = (e: MouseEvent) => {
      const d = hit(e);
      u.root.style.cursor = d ? "pointer" : "default";
      if (!d) return setTip(null);
      const ratio = window.devicePixelRatio || 1;
      // The tip goes right of the dot, or left of it in the plot's right half.
      const x = 8 + u.bbox.left / ratio + d.px;
      const right = d.px > u.bbox.width / ratio / 2;
      setTip({ left: right ? x - 14 : x + 14, right, top: 8 + u.bbox.top / ratio + d.py - 10, point: d.point });
    };
    const onClick = (e: MouseEvent) => {
      const d = hit(e);
      if (d) latest.current.onPick(d.point);
    };
    const onLeave = () => setTip(null);
    // On the whole chart, not just the plot area, so dots reaching into the margins can be picked.
    u.root.addEventListener("mousemove", onMove);
    u.root.addEventListener("click", onClick);
    u.root.addEventListener("mouseleave", onLeave);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.x, props.y, props.xlog, props.ylog]);

  useEffect(() => {
    plot.current?.setData(toData(points));
  }, [props.points]);

  return (
    <div class="plot">
      <div ref={host} style="position:absolute;inset:8px 8px 24px 8px" data-dots={points.length} data-max-count={maxCount} />
      {tip && (
        <div class="tip" style={`left:${tip.left}px;top:${tip.top}px${tip.right ? ";transform:translateX(-100%)" : ""}`}>
          <strong>{groupLabel(tip.point.group)}</strong> · {formatCount(tip.point.count)} process{tip.point.count === 1 ? "" : "es"}
          <br />
          {field(props.x).label} {formatField(props.x, tip.point.x)} · {field(props.y).label} {formatField(props.y, tip.point.y)}
        </div>
      )}
      <ul class="dot-list" aria-label="Dots">
        {drawn.map((d, i) => (
          <li key={i}>
            <button data-x={Math.round(d.px)} data-y={Math.round(d.py)} data-count={d.point.count} onClick={() => props.onPick(d.point)}>
              {groupLabel(d.point.group)}: {formatCount(d.point.count)} process{d.point.count === 1 ? "" : "es"}
            </button>
          </li>
        ))}
      </ul>
      <div style="position:absolute;left:12px;bottom:4px;color:var(--muted);font-size:12px">
        {formatCount(points.length)} dots; dot size is the number of processes{hidden > 0 ? ` · ${formatCount(hidden)} with zero or unreadable values not shown on a log axis` : ""}
      </div>
    </div>
  );
}

/** A linear axis from 0 (or the smallest value, when negative) to 6 % past the largest, so the biggest dots fit. */
function padded(_u: uPlot, min: number, max: number): uPlot.Range.MinMax {
  const low = Math.min(0, min);
  const span = max - low || Math.abs(max) || 1;
  return [low, max + span * 0.06];
}

/** uPlot wants x ascending; the y series follows the same order. */
function toData(points: ScatterPoint[]): uPlot.AlignedData {
  const sorted = [...points].sort((a, b) => a.x - b.x);
  return [sorted.map((p) => p.x), sorted.map((p) => p.y)];
}
