// How numbers, sizes and times are shown. Pure functions, unit-tested in test/format.test.ts.

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Bytes in binary units with 3 significant digits: `512 B`, `1.50 KiB`, `943 MiB`. -1 (unreadable) is `—`. */
export function formatBytes(n: number | null | undefined): string {
  if (n == null || n < 0 || !Number.isFinite(n)) return "—";
  let unit = 0;
  let v = n;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(v)} B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** A bytes-per-second rate: `1.50 KiB/s`; -1 is `—`. */
export function formatRate(n: number | null | undefined): string {
  const b = formatBytes(n);
  return b === "—" ? b : `${b}/s`;
}

/** A percentage of one core with one decimal: `12.5%`. */
export function formatPct(n: number | null | undefined): string {
  if (n == null || n < 0 || !Number.isFinite(n)) return "—";
  return `${n >= 100 ? n.toFixed(0) : n.toFixed(1)}%`;
}

/** A whole or decimal count with thousands separators; -1 is `—`. */
export function formatCount(n: number | null | undefined): string {
  if (n == null || n < 0 || !Number.isFinite(n)) return "—";
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/** A per-second rate of calls: `12.5/s`; -1 is `—`. */
export function formatOps(n: number | null | undefined): string {
  const c = formatCount(n);
  return c === "—" ? c : `${c}/s`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** A local date and time to the second: `2026-11-21 09:41:07`. */
export function formatTime(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A local time of day: `09:41:07`. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A span of time, two units at most: `45s`, `3m 12s`, `5h 2m`, `12d 3h`. */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** How long ago `ms` was, from `now`: `just now`, `12s ago`, `3m 12s ago`. */
export function formatAgo(ms: number | null | undefined, now: number): string {
  if (ms == null) return "never";
  const diff = now - ms;
  if (diff < 1000) return "just now";
  return `${formatSpan(diff)} ago`;
}

const DURATION_UNITS: Array<[string, number]> = [
  ["ns", 1],
  ["µs", 1e3],
  ["ms", 1e6],
  ["s", 1e9],
];

/** A duration in nanoseconds, 3 significant digits and no trailing zeros: `850 µs`, `1.53 ms`,
 * `2.1 s`; a minute or more as `formatSpan` does (`2m 5s`). Negative or missing is `—`. */
export function formatDuration(ns: number | null | undefined): string {
  if (ns == null || ns < 0 || !Number.isFinite(ns)) return "—";
  if (ns >= 60e9) return formatSpan(ns / 1e6);
  let unit = 0;
  while (unit < DURATION_UNITS.length - 1 && ns >= DURATION_UNITS[unit + 1][1]) unit++;
  let v = Number((ns / DURATION_UNITS[unit][1]).toPrecision(3));
  // Rounding can carry into the next unit: 999.6 µs is 1 ms, not 1000 µs.
  if (v >= 1000 && unit < DURATION_UNITS.length - 1) {
    unit++;
    v = Number((ns / DURATION_UNITS[unit][1]).toPrecision(3));
  }
  return `${v} ${DURATION_UNITS[unit][0]}`;
}

/** A fraction 0..1 as a percentage: `0%`, `<0.01%`, `2.5%`, `12.3%`, `100%`. */
export function formatRatio(r: number | null | undefined): string {
  if (r == null || r < 0 || !Number.isFinite(r)) return "—";
  const pct = r * 100;
  if (pct === 0) return "0%";
  if (pct < 0.01) return "<0.01%";
  if (pct >= 100) return "100%";
  return `${Number(pct.toPrecision(pct < 10 ? 2 : 3))}%`;
}

/** Calls per second, small rates kept readable: `0/s`, `<0.01/s`, `0.25/s`, `12.5/s`, `1,204/s`. */
export function formatPerSecond(n: number | null | undefined): string {
  if (n == null || n < 0 || !Number.isFinite(n)) return "—";
  if (n === 0) return "0/s";
  if (n < 0.01) return "<0.01/s";
  if (n < 100) return `${Number(n.toPrecision(3))}/s`;
  return `${Math.round(n).toLocaleString("en-US")}/s`;
}

/** A local date and time to the millisecond: `2026-11-21 09:41:07.123`. */
export function formatTimeMillis(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  const millis = String(Math.floor(((ms % 1000) + 1000) % 1000)).padStart(3, "0");
  return `${formatTime(ms)}.${millis}`;
}

const SI = ["", "k", "M", "G", "T", "P"];

/** A metric value, 3 significant digits with k/M/G/T/P past a thousand: `0`, `0.25`, `42`,
 * `1.5k`, `-3.2M`; tiny values in exponent form (`1.2e-5`). */
export function formatValue(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return "—";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a < 0.001) return v.toExponential(1);
  let unit = 0;
  let x = v;
  while (Math.abs(x) >= 999.5 && unit < SI.length - 1) {
    x /= 1000;
    unit++;
  }
  return `${Number(x.toPrecision(3))}${SI[unit]}`;
}
