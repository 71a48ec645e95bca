import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server.ts";

/** Starts a POST whose body arrives in two parts; the request is in flight until `finish()`. */
function slowPost(url: string, path: string) {
  const body = Buffer.from("email=slow%40example.com&csrf=none&padding=" + "x".repeat(2000));
  const agent = new http.Agent({ keepAlive: false });
  let req!: http.ClientRequest;
  const response = new Promise<{ status: number; connection?: string; body: string }>((resolve, reject) => {
    req = http.request(`${url}${path}`, {
      method: "POST",
      agent,
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": body.length },
    }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
    });
    req.on("error", reject);
  });
  req.write(body.subarray(0, 100));
  return { response, finish: () => req.end(body.subarray(100)) };
}

function connect(port: number): Promise<"connected" | string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("graceful shutdown (SIGTERM/SIGINT path: RunningServer.close)", () => {
  it("finishes an in-flight request, refuses new connections, then closes the services", async () => {
    const server = await startTestServer({}, { autoClose: false });
    try {
      const inFlight = slowPost(server.url, "/login");
      await sleep(150);
      let closed = false;
      const closing = server.close(10_000).then(() => (closed = true));
      await sleep(100);

      // No longer accepting, but not closed: the request is still in flight.
      expect(await connect(server.port)).toBe("ECONNREFUSED");
      expect(closed).toBe(false);
      expect(server.services.shutdown.aborted).toBe(true);

      inFlight.finish();
      const res = await inFlight.response;
      // The action ran to completion (it refused the form for its missing CSRF cookie, as it should).
      expect(res.status).toBe(403);
      expect(res.body).toContain("Your sign-in form expired");
      expect(res.connection).toBe("close");

      await closing;
      expect(closed).toBe(true);
      expect(server.services.db.pool.ended).toBe(true);
      await expect(server.services.prisma.user.count()).rejects.toThrow();
    } finally {
      await server.close();
      await server.database.drop();
    }
  });

  it("closes idle keep-alive connections at once and cuts a stalled request after the grace period", async () => {
    const server = await startTestServer({}, { autoClose: false });
    try {
      // An idle keep-alive connection must not hold the shutdown up.
      const agent = new http.Agent({ keepAlive: true });
      await new Promise<void>((resolve) =>
        http.get(`${server.url}/api/health`, { agent }, (res) => {
          res.resume();
          res.on("end", resolve);
        }),
      );
      // A request whose body never finishes.
      const stalled = slowPost(server.url, "/login");
      stalled.response.catch(() => {});
      await sleep(100);
      const started = performance.now();
      await server.close(500);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(450);
      expect(elapsed).toBeLessThan(3_000);
      await expect(stalled.response).rejects.toThrow();
      agent.destroy();
    } finally {
      await server.close();
      await server.database.drop();
    }
  });
});
