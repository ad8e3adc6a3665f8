// The side panel for the selected span of a trace: what it is, where it ran, how long it took,
// its error, and every tag (meta) and metric it carries.

import type { ComponentChildren } from "preact";
import type { Span } from "../apm-api";
import { explorerPath, hostProcessesPath, servicePath, serviceQuery } from "../apm-state";
import { formatDuration, formatTimeMillis } from "../format";
import { NavLink } from "./ApmParts";

function KeyValues(props: { title: string; entries: Array<[string, string]>; name: string }) {
  if (props.entries.length === 0) return null;
  return (
    <section>
      <h4>
        {props.title} <span class="muted">({props.entries.length})</span>
      </h4>
      <table class="kv" data-kv={props.name}>
        <tbody>
          {props.entries.map(([k, v]) => (
            <tr key={k}>
              <th class="mono">{k}</th>
              <td class="mono">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const byKey = (a: [string, unknown], b: [string, unknown]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

export function SpanDetail(props: { span: Span; traceDuration: number; color: string; range: string }) {
  const s = props.span;
  const meta = s.meta ?? {};
  const errorType = meta["error.type"];
  const errorMessage = meta["error.message"] ?? meta["error.msg"];
  const errorStack = meta["error.stack"];
  const hasError = s.error === 1 || errorType != null || errorMessage != null || errorStack != null;
  const share = props.traceDuration > 0 ? (100 * s.duration) / props.traceDuration : 0;
  const metaEntries = Object.entries(meta).sort(byKey);
  const metricEntries = Object.entries(s.metrics ?? {})
    .sort(byKey)
    .map(([k, v]): [string, string] => [k, String(v)]);
  const row = (label: string, value: ComponentChildren, field?: string) => (
    <>
      <dt>{label}</dt>
      <dd data-field={field}>{value === "" || value == null ? <span class="muted">—</span> : value}</dd>
    </>
  );

  return (
    <aside class="panel span-panel" aria-label="Span details" data-span-id={s.span_id}>
      <header>
        <span class="swatch" style={`background:${props.color}`} />
        <h3 title={`${s.service} ${s.name}`}>
          {s.service} <span class="muted" style="font-weight:400">{s.name}</span>
        </h3>
        {s.error ? <span class="badge error">error</span> : null}
      </header>
      <section>
        <div class="resource mono">{s.resource}</div>
        <dl>
          {row("Service", <NavLink href={servicePath({ service: s.service, range: props.range, env: s.env || undefined })}>{s.service}</NavLink>, "service")}
          {row("Operation", s.name, "name")}
          {row("Type", s.type, "type")}
          {row(
            "Host",
            s.host ? (
              <>
                {s.host}{" "}
                <NavLink href={hostProcessesPath(s.host)} class="processes-link">
                  Processes on {s.host}
                </NavLink>
              </>
            ) : (
              ""
            ),
            "host",
          )}
          {row("Env", s.env, "env")}
          {row("Version", s.version, "version")}
          {row("Start", <span title={`${s.start} ns since the epoch`}>{formatTimeMillis(s.start_ms)}</span>, "start")}
          {row("Duration", `${formatDuration(s.duration)} · ${share.toFixed(1)}% of the trace`, "duration")}
          {row("Trace id", <span class="mono">{s.trace_id}</span>, "trace_id")}
          {row("128-bit id", <span class="mono">{s.trace_id_128}</span>, "trace_id_128")}
          {row("Span id", <span class="mono">{s.span_id}</span>, "span_id")}
          {row("Parent id", <span class="mono">{s.parent_id}</span>, "parent_id")}
          {row("Entry span", s.top_level ? "yes (a request entered the service here)" : "no", "top_level")}
        </dl>
        <div class="links">
          <NavLink href={explorerPath({ query: serviceQuery(s.service), range: props.range })}>Traces of {s.service}</NavLink>
          <NavLink href={explorerPath({ query: serviceQuery(s.service, s.resource), range: props.range })}>Traces of this resource</NavLink>
        </div>
      </section>
      {hasError && (
        <section class="span-error" data-error>
          <h4>Error</h4>
          {errorType && <div class="error-type mono">{errorType}</div>}
          {errorMessage && <div class="error-message">{errorMessage}</div>}
          {errorStack && <pre class="stack">{errorStack}</pre>}
          {!errorType && !errorMessage && !errorStack && <div class="muted">The span is marked as an error, with no error details.</div>}
        </section>
      )}
      <KeyValues title="Tags" name="meta" entries={metaEntries} />
      <KeyValues title="Metrics" name="metrics" entries={metricEntries} />
    </aside>
  );
}
