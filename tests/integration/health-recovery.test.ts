import net from "node:net";
import { describe, expect, it } from "vitest";
import { createTestDatabase } from "../helpers/database.ts";
import { startTestServer } from "../helpers/server.ts";

/** A TCP proxy in front of PostgreSQL that can be taken down (listener closed, every connection cut) and back up. */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  await up();
  return { port: () => port, up, down };
}

async function health(url: string) {
  const started = performance.now();
  const res = await fetch(`${url}/api/health`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, ms: performance.now() - started };
}

describe("GET /api/health while the database goes away and comes back", () => {
  it("turns 503 within 2 s when the database drops, and healthy again once it is back", async () => {
    const database = await createTestDatabase();
    const real = new URL(database.url);
    const proxy = await startProxy({ host: real.hostname, port: Number(real.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port());
    const server = await startTestServer({ DATABASE_URL: viaProxy.toString() }, { database, autoClose: false });
    try {
      expect((await health(server.url)).status).toBe(200);
      // Warm the pool so it holds connections that will break.
      await Promise.all([1, 2, 3].map(() => server.services.prisma.user.count()));

      await proxy.down();
      for (let i = 0; i < 3; i++) {
        const down = await health(server.url);
        expect(down.status).toBe(503);
        expect(down.body).toMatchObject({ status: "unhealthy", database: "disconnected" });
        expect(down.ms).toBeLessThan(2_000);
      }

      await proxy.up();
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
      await proxy.down().catch(() => {});
      await database.drop();
    }
  });
});
