/**
 * Slow and idle clients (issue 13): header and request (body) timeouts, the limit on open connections per address,
 * and a client that disconnects mid-body. Loopback only; every wait is bounded. The timeouts are set to 1 s and 2 s
 * here (HTTP_HEADERS_TIMEOUT_SECONDS, HTTP_REQUEST_TIMEOUT_SECONDS); the defaults are 20 s and 30 s.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { captureLog, seedAccessToken, type CapturedLog } from "../observability/support.ts";

interface Outcome {
  /** Everything the server sent. */
  received: string;
  /** Milliseconds from connecting until the server closed the connection. */
  closedAfterMs: number;
  error?: string;
}

/**
 * Opens a connection, runs `talk` on it (which may write slowly), and resolves when the server closes it, or after
 * `limitMs` (then `closedAfterMs` is Infinity).
 */
function converse(port: number, talk: (socket: net.Socket) => void, limitMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, "127.0.0.1", () => talk(socket));
    let received = "";
    let error: string | undefined;
    socket.on("data", (chunk) => (received += chunk.toString("latin1")));
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const limit = setTimeout(() => {
      socket.destroy();
      resolve({ received, closedAfterMs: Infinity, error });
    }, limitMs);
    socket.on("close", () => {
      clearTimeout(limit);
      resolve({ received, closedAfterMs: performance.now() - started, error });
    });
  });
}

/** Writes `parts` one every `everyMs` (stops when the socket closes). */
function drip(socket: net.Socket, parts: string[], everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= parts.length || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    socket.write(parts[i++]!);
  }, everyMs);
  socket.on("close", () => clearInterval(timer));
}

const errorsOf = (captured: CapturedLog) => captured.lines.filter((line) => /"level":"(error|fatal)"/.test(line));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let server: TestServer;
let captured: CapturedLog;

async function start(env: Record<string, string> = {}) {
  captured = captureLog("debug");
  server = await startTestServer({ HTTP_HEADERS_TIMEOUT_SECONDS: "1", HTTP_REQUEST_TIMEOUT_SECONDS: "2", ...env }, { log: captured.log });
}

afterEach(() => {
  expect(errorsOf(captured)).toEqual([]);
});

describe("Slow clients: header and request timeouts (RFC 9110 §15.5.9, 408)", () => {
  it("a connection that sends nothing gets 408 and is closed after the header timeout", async () => {
    await start();
    const idle = await converse(server.port, () => {}, 6_000);
    expect(idle.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(idle.closedAfterMs).toBeGreaterThan(900);
    expect(idle.closedAfterMs).toBeLessThan(3_500);
  });

  it("headers sent one line every 300 ms get 408 after the header timeout", async () => {
    await start();
    const headerLines = ["GET /api/health HTTP/1.1\r\n", ...Array.from({ length: 30 }, (_, i) => `X-Slow-${i}: x\r\n`)];
    const slow = await converse(server.port, (socket) => drip(socket, headerLines, 300), 6_000);
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.closedAfterMs).toBeLessThan(3_500);
  });

  it("a token request whose body arrives one byte at a time is cut off with 408 (the issue's 1 byte / 10 s, faster)", async () => {
    await start();
    const body = "grant_type=refresh_token&refresh_token=mcprt_" + "x".repeat(60);
    const head = `POST /api/oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`;
    const slow = await converse(server.port, (socket) => {
      socket.write(head);
      drip(socket, [...body], 250);
    }, 8_000);
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(slow.closedAfterMs).toBeGreaterThan(1_900);
    expect(slow.closedAfterMs).toBeLessThan(4_500);
    // The handler that was reading the body learns its client is gone: not an error of ours (checked after each test).
    await expect.poll(() => captured.lines.some((line) => line.includes("client went away mid-request")), { timeout: 2_000 }).toBe(true);
  });

  it("a response may take as long as it likes: an SSE stream outlives the request timeout", async () => {
    await start();
    const { token } = await seedAccessToken(server);
    const stream = await converse(server.port, (socket) => {
      socket.write(`GET /mcp/sse HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`);
    }, 3_500);
    expect(stream.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(stream.received).toContain("event: endpoint");
    expect(stream.closedAfterMs).toBe(Infinity);
  });
});

describe("A client that disconnects mid-body", () => {
  it("is not logged as an error (no 'unhandled error: aborted'), and the request is logged as cut off (499)", async () => {
    await start({ HTTP_HEADERS_TIMEOUT_SECONDS: "20", HTTP_REQUEST_TIMEOUT_SECONDS: "30" });
    for (const path of ["/api/oauth/token", "/login", "/mcp/mcp"]) {
      await converse(server.port, (socket) => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":"`);
        setTimeout(() => socket.destroy(), 100);
      }, 2_000);
    }
    await expect
      .poll(() => captured.lines.filter((line) => line.includes('"msg":"request"') && line.includes('"status":499')).length, { timeout: 3_000 })
      .toBe(3);
    expect(captured.lines.filter((line) => line.includes("client went away mid-request"))).toHaveLength(3);
  });
});

describe("Open connections per address (MAX_CONNECTIONS_PER_IP)", () => {
  it("one more than the limit gets a 429 and is closed without reaching a handler; a freed slot is usable again", async () => {
    await start({ MAX_CONNECTIONS_PER_IP: "3", HTTP_HEADERS_TIMEOUT_SECONDS: "20", HTTP_REQUEST_TIMEOUT_SECONDS: "30" });
    const held = await Promise.all(
      Array.from({ length: 3 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect(server.port, "127.0.0.1", () => resolve(socket));
      })),
    );
    await sleep(50);
    const requests = () => captured.lines.filter((line) => line.includes('"msg":"request"')).length;
    const before = requests();
    const refused = await converse(server.port, (socket) => socket.write("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"), 3_000);
    expect(refused.received).toMatch(/^HTTP\/1\.1 429 /);
    expect(refused.received).toContain("Retry-After: 1");
    expect(refused.received).toContain('"error":"too_many_connections"');
    expect(refused.closedAfterMs).toBeLessThan(2_000);
    expect(requests()).toBe(before);
    expect(captured.lines.some((line) => line.includes("too many connections from one address"))).toBe(true);

    held[0]!.destroy();
    await sleep(100);
    const served = await converse(server.port, (socket) => socket.write("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 3_000);
    expect(served.received).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of held) socket.destroy();
  });

  it("addresses in TRUSTED_IP_RANGES are not limited", async () => {
    await start({ MAX_CONNECTIONS_PER_IP: "2", TRUSTED_IP_RANGES: "127.0.0.1/32", HTTP_HEADERS_TIMEOUT_SECONDS: "20", HTTP_REQUEST_TIMEOUT_SECONDS: "30" });
    const held = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<net.Socket>((resolve) => {
        const socket = net.connect(server.port, "127.0.0.1", () => resolve(socket));
      })),
    );
    const served = await converse(server.port, (socket) => socket.write("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 3_000);
    expect(served.received).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of held) socket.destroy();
  });
});
