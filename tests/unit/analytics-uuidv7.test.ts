import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../server/analytics/recorder.ts";

describe("analytics row ids: UUIDv7 (RFC 9562 §5.7)", () => {
  it("carries the millisecond timestamp, version 7 and variant 10", () => {
    const at = Date.UTC(2026, 10, 25, 12, 0, 0, 123);
    const id = uuidv7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(at);
  });

  it("is unique across many ids (the random pool refills) and sorts by time", () => {
    const ids = Array.from({ length: 5_000 }, (_, i) => uuidv7(1_700_000_000_000 + Math.floor(i / 10)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.slice(19))).size).toBe(ids.length); // the random tails differ too
    const byTime = [...ids].sort((a, b) => a.slice(0, 13).localeCompare(b.slice(0, 13)));
    expect(byTime.map((id) => id.slice(0, 13))).toEqual(ids.map((id) => id.slice(0, 13)));
  });
});
