// The process fields the server's `/api/ui/processes` routes know (crates/server/src/processes/fields.rs),
// with how the UI labels and formats each.

import { formatBytes, formatOps, formatPct, formatRate, formatTime } from "./format";

/** How a field's value is shown. */
export type FieldKind = "text" | "int" | "pct" | "bytes" | "rate" | "ops" | "time" | "tags";

/** A process field the server can return, sort by or aggregate. */
export interface FieldInfo {
  name: string;
  label: string;
  kind: FieldKind;
  /** Column width in pixels; the command column takes what is left. */
  width: number;
  /** Whether `groups` and `scatter` can aggregate it. */
  metric: boolean;
}

const f = (name: string, label: string, kind: FieldKind, width: number, metric = false): FieldInfo => ({
  name,
  label,
  kind,
  width,
  metric,
});

/** Every field, in the order the column chooser lists them. */
export const FIELDS: FieldInfo[] = [
  f("host", "Host", "text", 150),
  f("pid", "PID", "int", 72),
  f("ppid", "PPID", "int", 72),
  f("user", "User", "text", 100),
  f("name", "Name", "text", 120),
  f("command", "Command", "text", 0),
  f("exe", "Executable", "text", 220),
  f("cwd", "Working dir", "text", 180),
  f("state", "State", "text", 56),
  f("start", "Started", "time", 150),
  f("cpu", "CPU", "pct", 72, true),
  f("cpu_user", "CPU user", "pct", 80, true),
  f("cpu_system", "CPU sys", "pct", 80, true),
  f("rss", "RSS", "bytes", 84, true),
  f("vms", "VMS", "bytes", 84, true),
  f("swap", "Swap", "bytes", 80, true),
  f("threads", "Threads", "int", 70, true),
  f("fds", "FDs", "int", 64, true),
  f("read_bytes", "Read", "rate", 90, true),
  f("write_bytes", "Write", "rate", 90, true),
  f("read_ops", "Read ops", "ops", 84, true),
  f("write_ops", "Write ops", "ops", 84, true),
  f("ctx_voluntary", "Ctx vol", "int", 90),
  f("ctx_involuntary", "Ctx invol", "int", 90),
  f("nice", "Nice", "int", 52),
  f("container_id", "Container", "text", 120),
  f("tags", "Tags", "tags", 260),
];

const BY_NAME = new Map(FIELDS.map((x) => [x.name, x]));

/** The field called `name`, or a plain text field for a name the UI does not know. */
export function field(name: string): FieldInfo {
  return BY_NAME.get(name) ?? f(name, name, "text", 120);
}

/** Whether `name` is a field the server knows. */
export const isField = (name: string) => BY_NAME.has(name);

/** The metrics `groups` and `scatter` aggregate. */
export const METRICS = FIELDS.filter((x) => x.metric).map((x) => x.name);

/** The table's columns until the user picks others (the server's default too). */
export const DEFAULT_COLUMNS = ["host", "pid", "user", "command", "cpu", "rss", "threads", "start", "state"];

/** The facet keys always shown first; other tag keys follow. */
export const CORE_FACETS = ["host", "user", "command", "service", "env", "version", "container_id"];

/** A friendly name for a facet key. */
export function facetLabel(key: string): string {
  const known: Record<string, string> = {
    host: "Host",
    user: "User",
    command: "Command",
    service: "Service",
    env: "Env",
    version: "Version",
    container_id: "Container",
  };
  return known[key] ?? key;
}

/** `value` shown the way its field's kind says. Numbers that are whole stay whole. */
export function formatField(name: string, value: unknown): string {
  if (value == null) return "—";
  const info = field(name);
  switch (info.kind) {
    case "pct":
      return formatPct(value as number);
    case "bytes":
      return formatBytes(value as number);
    case "rate":
      return formatRate(value as number);
    case "ops":
      return formatOps(value as number);
    case "time":
      return formatTime(value as number);
    case "int":
      return typeof value === "number" && value < 0 && name !== "nice" ? "—" : String(value);
    case "tags":
      return Array.isArray(value) ? value.join(" ") : String(value);
    default:
      return String(value);
  }
}

/** Whether a column holds numbers (right-aligned). */
export const isNumericKind = (kind: FieldKind) => kind !== "text" && kind !== "tags" && kind !== "time";
