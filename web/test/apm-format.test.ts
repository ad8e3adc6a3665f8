import { describe, expect, it } from "vitest";
import { formatDuration, formatPerSecond, formatRatio, formatTime, formatTimeMillis } from "../src/format";

describe("APM formatting", () => {
  it("durations in nanoseconds with 3 significant digits", () => {
    expect(formatDuration(0)).toBe("0 ns");
    expect(formatDuration(999)).toBe("999 ns");
    expect(formatDuration(850_000)).toBe("850 µs");
    expect(formatDuration(1_532_000)).toBe("1.53 ms");
    expect(formatDuration(1_000_000)).toBe("1 ms");
    expect(formatDuration(2_100_000_000)).toBe("2.1 s");
    expect(formatDuration(12_345)).toBe("12.3 µs");
    expect(formatDuration(59_990_000_000)).toBe("60 s");
    expect(formatDuration(125_000_000_000)).toBe("2m 5s");
    expect(formatDuration(-1)).toBe("—");
    expect(formatDuration(null)).toBe("—");
  });

  it("rounding that carries moves to the next unit", () => {
    expect(formatDuration(999_600)).toBe("1 ms");
    expect(formatDuration(999_999_999)).toBe("1 s");
    expect(formatDuration(999_95)).toBe("100 µs");
  });

  it("error rates and hit rates", () => {
    expect(formatRatio(0)).toBe("0%");
    expect(formatRatio(0.00001)).toBe("<0.01%");
    expect(formatRatio(0.025)).toBe("2.5%");
    expect(formatRatio(0.1234)).toBe("12.3%");
    expect(formatRatio(1)).toBe("100%");
    expect(formatRatio(null)).toBe("—");
    expect(formatPerSecond(0)).toBe("0/s");
    expect(formatPerSecond(0.001)).toBe("<0.01/s");
    expect(formatPerSecond(0.25)).toBe("0.25/s");
    expect(formatPerSecond(12.345)).toBe("12.3/s");
    expect(formatPerSecond(1204.4)).toBe("1,204/s");
  });

  it("span start times to the millisecond", () => {
    const ms = 1732183200123.4568;
    expect(formatTimeMillis(ms)).toBe(`${formatTime(ms)}.123`);
    expect(formatTimeMillis(null)).toBe("—");
  });
});
