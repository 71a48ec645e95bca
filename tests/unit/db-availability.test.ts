/**
 * The one rule for "the database is unreachable" (server/db/availability.ts): what the OAuth endpoints, the MCP
 * bearer check and MCP tools turn into a 503 with Retry-After. The errors are the ones pg, pg-pool and Prisma's
 * driver adapter raise (seen in tests/faults/postgres-outage.test.ts); anything else stays a 500.
 */
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../../server/db/availability.ts";

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe("isDatabaseUnavailable", () => {
  it.each([
    ["connection refused", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED")],
    ["connection reset", withCode("read ECONNRESET", "ECONNRESET")],
    ["pg: the connection dropped", new Error("Connection terminated unexpectedly")],
    ["pg-pool: no connection within connectionTimeoutMillis", new Error("timeout exceeded when trying to connect")],
    ["pg: query_timeout on a partitioned connection", new Error("Query read timeout")],
    ["pg: a client whose connection died", new Error("Client has encountered a connection error and is not queryable")],
    ["Prisma driver adapter: socket timeout", Object.assign(new Error("adapter"), { cause: { kind: "SocketTimeout" } })],
    ["PostgreSQL shutting down (57P01)", withCode("terminating connection due to administrator command", "57P01")],
    ["PostgreSQL class 08", withCode("connection failure", "08006")],
    ["Prisma driver adapter kind", Object.assign(new Error("adapter"), { cause: { kind: "DatabaseNotReachable" } })],
    ["wrapped twice", new Error("outer", { cause: new Error("inner", { cause: withCode("x", "ECONNREFUSED") }) })],
  ])("%s", (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ["a unique violation", withCode("duplicate key value violates unique constraint", "23505")],
    ["a bug", new TypeError("Cannot read properties of undefined")],
    ["not an error", "Connection terminated"],
    ["a cause cycle", (() => {
      const a = new Error("a") as Error & { cause?: unknown };
      a.cause = a;
      return a;
    })()],
  ])("not %s", (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
