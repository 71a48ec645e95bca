/**
 * Shared pieces of the fault tests: timing a request, waiting for a condition with a bound, and the database
 * invariants that must hold after any outage ("nothing half-written").
 */
import { expect } from "vitest";
import { adminQuery } from "../helpers/database.ts";

export interface Timed {
  status: number;
  text: string;
  headers: Headers;
  ms: number;
}

/** One request, with its duration; `redirect: "manual"` so a redirect is seen, not followed. */
export async function timed(url: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(30_000), ...init });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, ms: performance.now() - started };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `withinMs`. */
export async function eventually<T>(what: string, withinMs: number, check: () => Promise<T | undefined>, everyMs = 50): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return { value, ms: performance.now() - started };
    if (performance.now() - started > withinMs) throw new Error(`not ${what} within ${withinMs} ms`);
    await sleep(everyMs);
  }
}

/** The answer given while the database is unreachable: 503, `Retry-After`, no cause on the wire. */
export function expectUnavailable(res: Timed, what: string): void {
  expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBe(503);
  expect(res.headers.get("retry-after") ?? "missing", what).toMatch(/^\d+$/);
  expect(res.text, what).not.toMatch(/ECONNRE|127\.0\.0\.1|prisma|timeout exceeded|Query read|terminated|at \//i);
}

/**
 * What every write path must leave behind, whatever was cut when: each grant came with its first tokens (one
 * statement), has as many access tokens as refresh tokens (each issuance writes one of each), each consumed code
 * names its grant, each rotated refresh token names a successor that exists in the same grant.
 */
export async function expectNothingHalfWritten(databaseUrl: string): Promise<void> {
  const checks: Array<[string, string]> = [
    ["grants without an access token", `SELECT g.id FROM "Grant" g WHERE NOT EXISTS (SELECT 1 FROM "AccessToken" a WHERE a."grantId" = g.id)`],
    [
      "grants whose access and refresh tokens do not pair up",
      `SELECT g.id FROM "Grant" g
        WHERE (SELECT count(*) FROM "AccessToken" a WHERE a."grantId" = g.id) <> (SELECT count(*) FROM "RefreshToken" r WHERE r."grantId" = g.id)`,
    ],
    ["consumed codes without a grant", `SELECT id FROM "AuthorizationCode" WHERE "consumedAt" IS NOT NULL AND "grantId" IS NULL`],
    ["grants of unconsumed codes", `SELECT id FROM "AuthorizationCode" WHERE "consumedAt" IS NULL AND "grantId" IS NOT NULL`],
    [
      "rotated refresh tokens without a successor in their grant",
      `SELECT r.id FROM "RefreshToken" r LEFT JOIN "RefreshToken" s ON s.id = r."successorId"
        WHERE r."rotatedAt" IS NOT NULL AND (s.id IS NULL OR s."grantId" <> r."grantId")`,
    ],
  ];
  for (const [what, sql] of checks) {
    const { rows } = await adminQuery(databaseUrl, sql);
    expect(rows, what).toEqual([]);
  }
}
