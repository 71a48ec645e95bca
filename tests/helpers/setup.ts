/**
 * Per-file setup. A stray console.error fails the test that caused it (epic-stack habit): errors must be
 * handled or logged through the server's logger, never dumped on the console.
 */
import { afterEach, beforeEach, vi } from "vitest";

let errors: unknown[][] = [];

beforeEach(() => {
  errors = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    errors.push(args);
  });
});

afterEach(() => {
  vi.mocked(console.error).mockRestore();
  if (errors.length > 0) {
    const text = errors.map((args) => args.map(String).join(" ")).join("\n");
    throw new Error(`console.error was called:\n${text}`);
  }
});
