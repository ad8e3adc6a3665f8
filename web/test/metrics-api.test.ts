import { describe, expect, it } from "vitest";
import { unitText } from "../src/metrics-api";

describe("unitText", () => {
  it("reads a unit, a unit per unit, and nothing when unset", () => {
    expect(unitText({ unit: "byte" })).toBe("byte");
    expect(unitText({ unit: "byte", per_unit: "second" })).toBe("byte/second");
    expect(unitText({ per_unit: "second" })).toBeNull();
    expect(unitText(null)).toBeNull();
    expect(unitText(undefined)).toBeNull();
  });
});
