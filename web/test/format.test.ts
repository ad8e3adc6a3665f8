import { describe, expect, it } from "vitest";
import { formatAgo, formatBytes, formatCount, formatPct, formatRate, formatSpan, formatValue } from "../src/format";
import { formatField } from "../src/fields";

describe("formatting", () => {
  it("bytes in binary units with 3 significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(943718400)).toBe("900 MiB");
    expect(formatBytes(10.5 * 1024 ** 3)).toBe("10.5 GiB");
    expect(formatBytes(-1)).toBe("—");
    expect(formatRate(2048)).toBe("2.00 KiB/s");
    expect(formatRate(-1)).toBe("—");
  });

  it("percentages, counts and spans", () => {
    expect(formatPct(12.345)).toBe("12.3%");
    expect(formatPct(250)).toBe("250%");
    expect(formatCount(12345)).toBe("12,345");
    expect(formatCount(-1)).toBe("—");
    expect(formatSpan(45_000)).toBe("45s");
    expect(formatSpan(192_000)).toBe("3m 12s");
    expect(formatSpan(5 * 3600_000 + 120_000)).toBe("5h 2m");
    expect(formatSpan(12 * 86400_000 + 3 * 3600_000)).toBe("12d 3h");
    expect(formatAgo(1000, 1500)).toBe("just now");
    expect(formatAgo(0, 12_000)).toBe("12s ago");
    expect(formatAgo(null, 0)).toBe("never");
  });

  it("fields by kind: -1 is unreadable, nice can be negative", () => {
    expect(formatField("fds", -1)).toBe("—");
    expect(formatField("nice", -5)).toBe("-5");
    expect(formatField("rss", 1024)).toBe("1.00 KiB");
    expect(formatField("tags", ["a:b", "c:d"])).toBe("a:b c:d");
    expect(formatField("container_id", null)).toBe("—");
  });
});

describe("metric values", () => {
  it("keep 3 significant digits with SI suffixes, signs and tiny values readable", () => {
    expect([0, 0.25, 42, 999.4, 999.6, 1234, -3_210_000, 5e9, 0.00001234, null].map(formatValue)).toEqual(["0", "0.25", "42", "999", "1k", "1.23k", "-3.21M", "5G", "1.2e-5", "—"]);
  });
});
