// Grouped rows: one per combination of the group-by keys' values, with the process count,
// host count and CPU and RSS sums and averages. A group expands to its processes.

import { useEffect, useState } from "preact/hooks";
import { api, type Group, type Row } from "../api";
import { formatBytes, formatCount, formatPct } from "../format";
import { addTerm, tagTerm } from "../query-edit";
import { processKey } from "../url-state";
import { Cells, HeaderRow } from "./ProcessTable";

/** The columns an expanded group lists its processes with. */
const MEMBER_COLUMNS = ["host", "pid", "user", "command", "cpu", "rss"];
/** Processes listed under an expanded group at most. */
const MEMBER_LIMIT = 50;

/** The query that selects one group's processes: `query` and each of the group's tag values. */
export function groupQuery(query: string, tags: Record<string, string | null>): string {
  return Object.entries(tags).reduce((q, [k, v]) => addTerm(q, tagTerm(k, v)), query);
}

const groupId = (g: Group) => JSON.stringify(g.tags);

function Members(props: { query: string; group: Group; selected: string | null; onSelect: (row: Row) => void; refreshKey: number }) {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    api
      .processes({ query: groupQuery(props.query, props.group.tags), sort: "cpu", order: "desc", columns: MEMBER_COLUMNS, offset: 0, limit: MEMBER_LIMIT }, controller.signal)
      .then((a) => {
        setRows(a.processes);
        setTotal(a.total);
        setError(null);
      })
      .catch((e) => (e as Error).name !== "AbortError" && setError((e as Error).message));
    return () => controller.abort();
  }, [props.query, groupId(props.group), props.refreshKey]);
  if (error) return <div class="tr member"><div class="td" style="color:var(--error)">{error}</div></div>;
  if (!rows) return <div class="tr member"><div class="td"><span class="spinner" /> Loading processes…</div></div>;
  return (
    <>
      {rows.map((r) => {
        const key = processKey(r.host, r.pid, r.start);
        return (
          <div
            class={`tr member${props.selected === key ? " selected" : ""}`}
            key={key}
            role="row"
            tabIndex={0}
            data-pid={r.pid}
            onClick={() => props.onSelect(r)}
            onKeyDown={(e) => e.key === "Enter" && props.onSelect(r)}
          >
            <div class="td" style="width:24px" />
            <Cells row={r} columns={MEMBER_COLUMNS} />
          </div>
        );
      })}
      {total > rows.length && (
        <div class="tr member">
          <div class="td" style="color:var(--muted)">
            {formatCount(rows.length)} of {formatCount(total)} shown, busiest first
          </div>
        </div>
      )}
    </>
  );
}

export function GroupTable(props: {
  by: string[];
  groups: Group[];
  totalGroups: number;
  query: string;
  selected: string | null;
  refreshKey: number;
  onSelect: (row: Row) => void;
}) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (id: string) => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  const num = (w: number) => ({ class: "td num", style: `width:${w}px` });
  return (
    <div class="table groups" role="table">
      <div class="head">
        <div class="td" style="width:24px" />
        {props.by.map((k) => (
          <div class="td" style="width:180px" key={k}>
            {k}
          </div>
        ))}
        <div {...num(90)}>Processes</div>
        <div {...num(70)}>Hosts</div>
        <div {...num(90)}>Avg CPU</div>
        <div {...num(90)}>Sum CPU</div>
        <div {...num(100)}>Avg RSS</div>
        <div {...num(100)}>Sum RSS</div>
        <div class="td grow" />
      </div>
      <div class="scroll">
        {props.groups.length === 0 && (
          <div class="empty">
            <strong>No processes match</strong>Change the query to see groups.
          </div>
        )}
        {props.groups.map((g) => {
          const id = groupId(g);
          const isOpen = open.has(id);
          return (
            <div key={id}>
              <div
                class="tr group"
                role="row"
                tabIndex={0}
                aria-expanded={isOpen}
                data-group={props.by.map((k) => g.tags[k] ?? "").join("|")}
                onClick={() => toggle(id)}
                onKeyDown={(e) => e.key === "Enter" && toggle(id)}
              >
                <div class="td caret" style="width:24px">
                  {isOpen ? "▾" : "▸"}
                </div>
                {props.by.map((k) => (
                  <div class="td" style="width:180px" key={k} title={g.tags[k] ?? "(none)"}>
                    {g.tags[k] ?? <em style="color:var(--muted)">(none)</em>}
                  </div>
                ))}
                <div {...num(90)}>{formatCount(g.count)}</div>
                <div {...num(70)}>{formatCount(g.hosts)}</div>
                <div {...num(90)}>{formatPct(g.metrics.cpu?.avg)}</div>
                <div {...num(90)}>{formatPct(g.metrics.cpu?.sum)}</div>
                <div {...num(100)}>{formatBytes(g.metrics.rss?.avg)}</div>
                <div {...num(100)}>{formatBytes(g.metrics.rss?.sum)}</div>
                <div class="td grow" />
              </div>
              {isOpen && (
                <>
                  <HeaderRow columns={MEMBER_COLUMNS} lead />
                  <Members query={props.query} group={g} selected={props.selected} onSelect={props.onSelect} refreshKey={props.refreshKey} />
                </>
              )}
            </div>
          );
        })}
        {props.totalGroups > props.groups.length && (
          <div class="empty">
            Showing the {formatCount(props.groups.length)} largest of {formatCount(props.totalGroups)} groups; narrow the query to see the rest.
          </div>
        )}
      </div>
    </div>
  );
}
