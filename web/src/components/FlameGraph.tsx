// The trace's flame graph on a canvas of our own: x is time since the trace started, y the row
// (nesting), a colour per service. Hover for a span's details; click one to select it and zoom
// to its interval. The layout and the maths are in flame.ts; this only draws and listens.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Span } from "../apm-api";
import { barRect, clipLabel, fullView, hitTest, isFullView, timeTicks, toPx, zoomTo, type FlameLayout, type FlameNode, type Viewport } from "../flame";
import { formatDuration } from "../format";

const AXIS_H = 22;
const ROW_H = 20;
const BAR_H = 18;
/** Rows drawn at most; a deeper trace is cut (the waterfall lists every span). */
const MAX_ROWS = 400;
/** Buttons kept for keyboard and screen-reader access to the bars, at most. */
const MAX_BUTTONS = 2000;
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';

/** What a bar says: the resource, else the operation name. */
export function spanLabel(s: Span): string {
  return s.resource || s.name;
}

export function FlameGraph(props: {
  layout: FlameLayout<Span>;
  colors: Map<string, string>;
  selected: number;
  onSelect: (index: number) => void;
}) {
  const { layout } = props;
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [view, setView] = useState<Viewport>(() => fullView(layout));
  const [hover, setHover] = useState<{ index: number; x: number; y: number } | null>(null);
  const rows = Math.min(layout.rows, MAX_ROWS);
  const height = AXIS_H + rows * ROW_H + 4;
  const index = useMemo(() => new Map(layout.nodes.map((n, i) => [n, i])), [layout]);

  // A new layout (spans arrived late) keeps the zoom unless it showed the whole trace.
  const lastLayout = useRef(layout);
  useEffect(() => {
    const prev = lastLayout.current;
    lastLayout.current = layout;
    if (prev !== layout && (isFullView(view, prev) || prev.traceStart !== layout.traceStart)) setView(fullView(layout));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layout]);

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    setWidth(el.clientWidth);
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    if (!c || width <= 0) return;
    const ratio = window.devicePixelRatio || 1;
    c.width = Math.round(width * ratio);
    c.height = Math.round(height * ratio);
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = FONT;
    ctx.textBaseline = "middle";

    // The time axis, with a faint line down through the rows at each tick.
    ctx.fillStyle = "#fafafc";
    ctx.fillRect(0, 0, width, AXIS_H);
    ctx.fillStyle = "#cfcfd6";
    ctx.fillRect(0, AXIS_H - 1, width, 1);
    for (const t of timeTicks(view, width)) {
      const x = Math.round(toPx(t, view, width)) + 0.5;
      ctx.fillStyle = "#ececf0";
      ctx.fillRect(x, AXIS_H, 1, height - AXIS_H);
      ctx.fillStyle = "#cfcfd6";
      ctx.fillRect(x, AXIS_H - 5, 1, 5);
      const label = t === 0 ? "0" : formatDuration(t);
      const w = ctx.measureText(label).width;
      ctx.fillStyle = "#6b6b76";
      ctx.fillText(label, x + w + 4 > width ? x - w - 3 : x + 3, AXIS_H / 2 - 1);
    }

    const measure = (s: string) => ctx.measureText(s).width;
    layout.nodes.forEach((n, i) => {
      if (n.row >= rows) return;
      const r = barRect(n, view, width);
      if (!r) return;
      const y = AXIS_H + n.row * ROW_H + 1;
      ctx.fillStyle = props.colors.get(n.span.service) ?? "#c8c8d0";
      ctx.fillRect(r.x, y, r.w, BAR_H);
      if (hover?.index === i) {
        ctx.fillStyle = "rgba(255,255,255,.35)";
        ctx.fillRect(r.x, y, r.w, BAR_H);
      }
      if (n.span.error) {
        ctx.fillStyle = "#c62828";
        ctx.fillRect(r.x, y, r.w, 3);
        if (r.w > 2) ctx.fillRect(r.x, y, 2, BAR_H);
      }
      // A hairline between neighbours, so touching bars read as two.
      if (r.w > 3) {
        ctx.fillStyle = "rgba(255,255,255,.8)";
        ctx.fillRect(r.x + r.w - 1, y, 1, BAR_H);
      }
      if (r.w > 24) {
        const text = clipLabel(spanLabel(n.span), r.w - 8, measure);
        if (text) {
          ctx.fillStyle = "#1c1c21";
          ctx.fillText(text, r.x + 4, y + BAR_H / 2 + 1);
        }
      }
    });
    // The selected bar is outlined last, on top of its neighbours.
    const sel = layout.nodes[props.selected];
    const sr = sel && sel.row < rows ? barRect(sel, view, width) : null;
    if (sel && sr) {
      ctx.strokeStyle = "#1c1c21";
      ctx.lineWidth = 2;
      ctx.strokeRect(sr.x + 1, AXIS_H + sel.row * ROW_H + 2, Math.max(1, sr.w - 2), BAR_H - 2);
      // An error stays visible on the selected bar.
      if (sel.span.error) {
        ctx.fillStyle = "#c62828";
        ctx.fillRect(sr.x, AXIS_H + sel.row * ROW_H + 1, sr.w, 3);
      }
    }
  }, [layout, view, width, height, rows, props.selected, props.colors, hover?.index]);

  const at = (e: MouseEvent): FlameNode<Span> | null => {
    const box = canvas.current!.getBoundingClientRect();
    const n = hitTest(layout, view, width, ROW_H, AXIS_H, e.clientX - box.left, e.clientY - box.top);
    return n && n.row < rows ? n : null;
  };
  const pick = (n: FlameNode<Span>) => {
    // The bar under the pointer changes with the zoom: the tooltip waits for the next move.
    setHover(null);
    props.onSelect(index.get(n)!);
    setView(zoomTo(n, layout));
  };

  const buttons = useMemo(() => {
    const out: Array<{ i: number; x: number; y: number; n: FlameNode<Span> }> = [];
    if (width <= 0) return out;
    for (let i = 0; i < layout.nodes.length && out.length < MAX_BUTTONS; i++) {
      const n = layout.nodes[i];
      if (n.row >= rows) continue;
      const r = barRect(n, view, width);
      if (r) out.push({ i, n, x: Math.round(r.x + r.w / 2), y: AXIS_H + n.row * ROW_H + ROW_H / 2 });
    }
    return out;
  }, [layout, view, width, rows]);

  const hovered = hover ? layout.nodes[hover.index] : null;
  const zoomed = !isFullView(view, layout);
  return (
    <div class="flame">
      <div class="flame-bar">
        <span class="muted">
          {zoomed ? `Showing ${formatDuration(view.start)} – ${formatDuration(view.end)} of ${formatDuration(layout.duration)}` : `${formatDuration(layout.duration)} · click a span to zoom to it`}
        </span>
        <button
          onClick={() => {
            setHover(null);
            setView(fullView(layout));
          }}
          disabled={!zoomed}
        >
          Reset zoom
        </button>
      </div>
      <div class="flame-canvas" ref={wrap}>
        <canvas
          ref={canvas}
          style={`width:${width}px;height:${height}px`}
          aria-label="Flame graph"
          data-rows={rows}
          data-view={`${view.start},${view.end}`}
          onMouseMove={(e) => {
            const n = at(e);
            const box = wrap.current!.getBoundingClientRect();
            setHover(n ? { index: index.get(n)!, x: e.clientX - box.left, y: e.clientY - box.top } : null);
          }}
          onMouseLeave={() => setHover(null)}
          onClick={(e) => {
            const n = at(e);
            if (n) pick(n);
          }}
        />
        {hovered && hover && (
          <div class="tip" style={`left:${Math.min(hover.x + 14, Math.max(0, width - 320))}px;top:${hover.y + 16}px`} role="tooltip">
            <div>
              <span class="swatch" style={`background:${props.colors.get(hovered.span.service)}`} />
              <strong>{hovered.span.service}</strong> {hovered.span.name}
            </div>
            <div class="mono">{hovered.span.resource}</div>
            <div>
              {formatDuration(hovered.span.duration)} · {((100 * hovered.span.duration) / layout.duration).toFixed(1)}% of the trace
              {hovered.span.error ? <span class="err"> · error</span> : null}
            </div>
          </div>
        )}
        <ul class="span-list" aria-label="Spans in the flame graph">
          {buttons.map((b) => (
            <li key={b.i}>
              <button data-span-id={b.n.span.span_id} data-x={b.x} data-y={b.y} onClick={() => pick(b.n)}>
                {b.n.span.service} {b.n.span.name} {spanLabel(b.n.span)} {formatDuration(b.n.span.duration)}
              </button>
            </li>
          ))}
        </ul>
      </div>
      {layout.rows > rows && <div class="muted note">The trace nests {layout.rows} rows deep; the first {rows} are drawn. The waterfall lists every span.</div>}
    </div>
  );
}
