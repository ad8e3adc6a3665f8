// The process table: sortable columns, and only the rows in view are drawn (and fetched), so
// a table of tens of thousands of processes scrolls as smoothly as one of ten.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Row } from "../api";
import { field, formatField, isNumericKind } from "../fields";
import { processKey } from "../url-state";
import { visibleRows } from "../virtual";

/** Row height in pixels; matches `--row` in styles.css. */
export const ROW_HEIGHT = 24;

/** A column's cell classes and style. */
export function cellProps(name: string): { class: string; style?: string } {
  const info = field(name);
  if (name === "command" || info.width === 0) return { class: "td grow cmd" };
  const cls = ["td"];
  if (isNumericKind(info.kind)) cls.push("num");
  if (name === "exe" || name === "cwd" || name === "tags") cls.push("cmd");
  return { class: cls.join(" "), style: `width:${info.width}px` };
}

export function HeaderRow(props: { columns: string[]; sort?: string; order?: string; onSort?: (name: string) => void; lead?: boolean }) {
  return (
    <div class="head" role="row">
      {props.lead && <div class="td" style="width:24px" />}
      {props.columns.map((c) => {
        const sorted = props.sort === c;
        const p = cellProps(c);
        return (
          <div
            key={c}
            role="columnheader"
            data-column={c}
            class={`${p.class}${sorted ? " sorted" : ""}`}
            style={p.style}
            title={c === "tags" ? undefined : `Sort by ${field(c).label}`}
            aria-sort={sorted ? (props.order === "asc" ? "ascending" : "descending") : undefined}
            tabIndex={props.onSort && c !== "tags" ? 0 : undefined}
            onClick={() => c !== "tags" && props.onSort?.(c)}
            onKeyDown={(e) => e.key === "Enter" && c !== "tags" && props.onSort?.(c)}
          >
            {field(c).label}
            {sorted ? (props.order === "asc" ? " ▲" : " ▼") : ""}
          </div>
        );
      })}
    </div>
  );
}

export function Cells(props: { row: Record<string, unknown>; columns: string[] }) {
  return (
    <>
      {props.columns.map((c) => {
        const p = cellProps(c);
        const text = formatField(c, props.row[c]);
        return (
          <div key={c} role="cell" class={p.class} style={p.style} title={c === "command" || c === "exe" || c === "cwd" ? text : undefined}>
            {text}
          </div>
        );
      })}
    </>
  );
}

export function ProcessTable(props: {
  rows: Row[];
  offset: number;
  total: number;
  columns: string[];
  sort: string;
  order: string;
  selected: string | null;
  onSort: (name: string) => void;
  onNeedRows: (first: number, last: number) => void;
  onSelect: (row: Row) => void;
  /** Changes when the rows change meaning (query, sort): the table scrolls back to the top. */
  resetKey: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 600 });

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || el.scrollTop === 0) return;
    el.scrollTop = 0;
    setViewport({ top: 0, height: el.clientHeight });
  }, [props.resetKey]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const measure = () => setViewport({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const { first, last } = visibleRows(viewport.top, viewport.height, ROW_HEIGHT, props.total);
  useEffect(() => {
    props.onNeedRows(first, last);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [first, last]);

  const rows = [];
  for (let i = first; i < last; i++) {
    const row = props.rows[i - props.offset];
    const style = `top:${i * ROW_HEIGHT}px`;
    if (!row) {
      rows.push(
        <div class="tr placeholder" style={style} key={`p${i}`}>
          <div class="td">…</div>
        </div>,
      );
      continue;
    }
    const key = processKey(row.host, row.pid, row.start);
    rows.push(
      <div
        class={`tr${props.selected === key ? " selected" : ""}`}
        style={style}
        key={key}
        role="row"
        data-pid={row.pid}
        data-host={row.host}
        tabIndex={0}
        onClick={() => props.onSelect(row)}
        onKeyDown={(e) => e.key === "Enter" && props.onSelect(row)}
      >
        <Cells row={row} columns={props.columns} />
      </div>,
    );
  }

  return (
    <div class="table" role="table" aria-rowcount={props.total}>
      <HeaderRow columns={props.columns} sort={props.sort} order={props.order} onSort={props.onSort} />
      <div class="scroll" ref={scroller} onScroll={(e) => setViewport({ top: (e.target as HTMLDivElement).scrollTop, height: (e.target as HTMLDivElement).clientHeight })}>
        <div style={`height:${props.total * ROW_HEIGHT}px;position:relative`}>{rows}</div>
      </div>
    </div>
  );
}
