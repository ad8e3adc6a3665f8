// The trace as a waterfall: one row per span in tree order, indented by nesting, with a bar at
// its offset from the trace's start. Only the rows in view are drawn, so a trace of thousands
// of spans scrolls smoothly.

import { useEffect, useRef, useState } from "preact/hooks";
import type { Span } from "../apm-api";
import type { FlameLayout } from "../flame";
import { formatDuration } from "../format";
import { visibleRows } from "../virtual";
import { DurationBar } from "./ApmParts";

const ROW_H = 26;
/** Indentation per level, and the deepest level indented. */
const INDENT = 14;
const MAX_INDENT_LEVELS = 24;

export function Waterfall(props: { layout: FlameLayout<Span>; colors: Map<string, string>; selected: number; onSelect: (index: number) => void }) {
  const { layout } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });

  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const update = () => setScroll({ top: el.scrollTop, height: el.clientHeight });
    update();
    const ro = new ResizeObserver(update);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Bring the selected span into view when it changes (selected in the flame graph or by URL).
  useEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const y = props.selected * ROW_H;
    if (y < el.scrollTop || y + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, y - el.clientHeight / 3);
  }, [props.selected]);

  const { first, last } = visibleRows(scroll.top, scroll.height, ROW_H, layout.nodes.length);
  const total = layout.duration;
  return (
    <div class="waterfall">
      <div class="wf-head">
        <span class="wf-name">Span</span>
        <span class="wf-track">
          <span>0</span>
          <span>{formatDuration(total / 2)}</span>
          <span>{formatDuration(total)}</span>
        </span>
        <span class="wf-dur">Duration</span>
      </div>
      <div class="wf-scroll" ref={scroller} onScroll={(e) => setScroll({ top: (e.target as HTMLElement).scrollTop, height: (e.target as HTMLElement).clientHeight })}>
        <div style={`height:${layout.nodes.length * ROW_H}px;position:relative`}>
          {layout.nodes.slice(first, last).map((n, k) => {
            const i = first + k;
            const s = n.span;
            return (
              <div
                key={i}
                class={`wf-row${i === props.selected ? " selected" : ""}${s.error ? " error" : ""}`}
                style={`top:${i * ROW_H}px`}
                role="button"
                tabIndex={0}
                data-span-id={s.span_id}
                data-depth={n.depth}
                onClick={() => props.onSelect(i)}
                onKeyDown={(e) => e.key === "Enter" && props.onSelect(i)}
              >
                <span class="wf-name" style={`padding-left:${6 + Math.min(n.depth, MAX_INDENT_LEVELS) * INDENT}px`} title={`${s.service} ${s.name} ${s.resource}`}>
                  <span class="swatch" style={`background:${props.colors.get(s.service) ?? "#ccc"}`} />
                  <strong>{s.service}</strong> <span>{s.name}</span> <span class="muted mono">{s.resource}</span>
                </span>
                <span class="wf-track">
                  <DurationBar offset={n.start / total} fraction={Math.max(0.002, (n.end - n.start) / total)} error={s.error === 1} color={props.colors.get(s.service)} />
                </span>
                <span class="wf-dur num">{formatDuration(s.duration)}</span>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
