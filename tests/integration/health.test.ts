import { describe, expect, it } from "vitest";
import { freePort } from "../../server/db/embedded.ts";
import { startTestServer } from "../helpers/server.ts";

describe("GET /api/health", () => {
  it("is healthy when the database answers", async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.url}/api/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toMatchObject({ status: "healthy", database: "connected" });
  });

  it("answers 503 within 2 s when the database is unreachable", async () => {
    const closedPort = await freePort();
    const server = await startTestServer({}, { autoClose: true });
    // Point a second server at a closed port: nothing listens there.
    const down = await startTestServer({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${closedPort}/none` }, {
      database: server.database,
    });
    const started = performance.now();
    const res = await fetch(`${down.url}/api/health`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "unhealthy", database: "disconnected" });
    expect(elapsed).toBeLessThan(2_000);
  });
});
