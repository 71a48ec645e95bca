import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/database.ts";
import { startTestServer } from "../helpers/server.ts";
import { startTcpProxy } from "../helpers/tcp-proxy.ts";

async function health(url: string) {
  const started = performance.now();
  const res = await fetch(`${url}/api/health`);
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    retryAfter: res.headers.get("retry-after"),
    ms: performance.now() - started,
  };
}

describe("GET /api/health while the database goes away and comes back", () => {
  it("turns 503 within 2 s when the database drops, and healthy again once it is back", async () => {
    const database = await createTestDatabase();
    const real = new URL(database.url);
    const proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
    const server = await startTestServer({ DATABASE_URL: proxy.urlFor(database.url) }, { database, autoClose: false });
    try {
      expect((await health(server.url)).status).toBe(200);
      // Warm the pool so it holds connections that will break.
      await Promise.all([1, 2, 3].map(() => server.services.prisma.user.count()));

      proxy.cut();
      for (let i = 0; i < 3; i++) {
        const down = await health(server.url);
        expect(down.status).toBe(503);
        expect(down.body).toMatchObject({ status: "unhealthy", database: "disconnected" });
        expect(down.retryAfter).toBe("5");
        expect(down.ms).toBeLessThan(2_000);
      }

      proxy.restore();
      let recovered: Awaited<ReturnType<typeof health>> | undefined;
      const deadline = Date.now() + 5_000;
      while (Date.now() < deadline) {
        recovered = await health(server.url);
        if (recovered.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(recovered).toMatchObject({ status: 200, body: { status: "healthy", database: "connected" } });
      // And the app's queries work again.
      expect(await server.services.prisma.user.count()).toBe(0);
    } finally {
      await server.close(1_000);
      await proxy.close();
      await database.drop();
    }
  });
});
