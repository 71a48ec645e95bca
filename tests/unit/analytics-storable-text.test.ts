/**
 * Issue 13/18: what the analytics writer stores is text PostgreSQL accepts. `storableText` replaces NUL and lone
 * surrogates with U+FFFD, one code unit for one, and returns every other string as it is (the fast path taken for
 * nearly every value). Checked against the definition, over any sequence of UTF-16 code units.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { storableText } from "../../server/analytics/recorder.ts";

/** The rule spelled out: each NUL, and each surrogate not in a high-low pair, becomes U+FFFD. */
function byDefinition(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const high = unit >= 0xd800 && unit <= 0xdbff;
    const low = unit >= 0xdc00 && unit <= 0xdfff;
    const next = value.charCodeAt(i + 1);
    if (high && next >= 0xdc00 && next <= 0xdfff) {
      out += value[i] + value[i + 1];
      i++;
    } else if (unit === 0 || high || low) {
      out += "\uFFFD";
    } else {
      out += value[i];
    }
  }
  return out;
}

/** Strings of any UTF-16 code units, weighted towards NUL, surrogates and pairs. */
const units = fc.array(
  fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0x41, 0xe9)),
  { maxLength: 40 },
);

describe("storableText", () => {
  it("replaces NUL and lone surrogates with U+FFFD and keeps everything else, for any code units", () => {
    fc.assert(
      fc.property(units, (codes) => {
        const value = String.fromCharCode(...codes);
        expect(storableText(value)).toBe(byDefinition(value));
      }),
      { numRuns: 2_000 },
    );
  });

  it("returns a storable string unchanged", () => {
    for (const value of ["", "POST", "/mcp/mcp", "Mozilla/5.0 😀", "é\u00a0ü"]) expect(storableText(value)).toBe(value);
    expect(storableText("a\u0000b\ud800c\udc00\ud83d\ude00")).toBe("a\uFFFDb\uFFFDc\uFFFD\ud83d\ude00");
  });
});
