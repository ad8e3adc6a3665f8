// The scatter plot's settings: x and y metrics, each axis linear or log, how a group's values
// become one dot, and what a dot stands for (a command by default, or one process).

import { field, METRICS } from "../fields";
import { AGGREGATIONS, type ProcessView } from "../url-state";

/** The `dots` value for one dot per process. */
export const SCATTER_BY_PROCESS = "process";

/** What a dot can stand for. */
const DOTS = ["command", "user", "service", "host", "container_id", SCATTER_BY_PROCESS];

function Axis(props: { name: string; metric: string; log: boolean; onMetric: (m: string) => void; onLog: (log: boolean) => void }) {
  return (
    <label style="display:flex;gap:4px;align-items:center">
      {props.name}
      <select aria-label={`${props.name} metric`} name={`scatter-${props.name}`} value={props.metric} onChange={(e) => props.onMetric((e.target as HTMLSelectElement).value)}>
        {METRICS.map((m) => (
          <option key={m} value={m}>
            {field(m).label}
          </option>
        ))}
      </select>
      <select aria-label={`${props.name} scale`} name={`scatter-${props.name}-scale`} value={props.log ? "log" : "linear"} onChange={(e) => props.onLog((e.target as HTMLSelectElement).value === "log")}>
        <option value="linear">linear</option>
        <option value="log">log</option>
      </select>
    </label>
  );
}

export function ScatterControls(props: { view: ProcessView; onChange: (patch: Partial<ProcessView>) => void }) {
  const v = props.view;
  const perProcess = v.dots === SCATTER_BY_PROCESS;
  return (
    <>
      <Axis name="X" metric={v.x} log={v.xlog} onMetric={(x) => props.onChange({ x })} onLog={(xlog) => props.onChange({ xlog })} />
      <Axis name="Y" metric={v.y} log={v.ylog} onMetric={(y) => props.onChange({ y })} onLog={(ylog) => props.onChange({ ylog })} />
      <label style="display:flex;gap:4px;align-items:center">
        Dot per
        <select aria-label="Dot per" name="scatter-dots" value={v.dots} onChange={(e) => props.onChange({ dots: (e.target as HTMLSelectElement).value })}>
          {(DOTS.includes(v.dots) ? DOTS : [...DOTS, v.dots]).map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      {!perProcess && (
        <label style="display:flex;gap:4px;align-items:center">
          of its processes' values, the
          <select aria-label="Aggregation" name="scatter-agg" value={v.agg} onChange={(e) => props.onChange({ agg: (e.target as HTMLSelectElement).value as ProcessView["agg"] })}>
            {AGGREGATIONS.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
      )}
    </>
  );
}
