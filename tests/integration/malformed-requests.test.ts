import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { HttpSession } from "../helpers/http-session.ts";
import { startTestServer } from "../helpers/server.ts";

/** A raw HTTP request (methods and bodies `fetch` refuses to send). */
function rawRequest(
  url: string,
  options: { method: string; path: string; headers?: Record<string, string | number>; body?: AsyncIterable<Buffer> | Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${options.path}`, { method: options.method, headers: options.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    if (Buffer.isBuffer(options.body)) req.end(options.body);
    else if (options.body) {
      void (async () => {
        for await (const chunk of options.body as AsyncIterable<Buffer>) if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        req.end();
      })().catch(() => {});
    } else req.end();
  });
}

describe("malformed requests get a 4xx, never a 500", () => {
  it("bad JSON, or a body that is not a form, posted to a form handler: 400", async () => {
    const server = await startTestServer();
    const browser = new HttpSession(server.url);
    await browser.csrfToken();
    for (const [type, body] of [
      ["application/json", "{not json"],
      ["application/json", '{"email": "a@example.com"'],
      ["multipart/form-data; boundary=zzz", "--zzz\r\ngarbage"],
      ["text/plain", "\u0000\u0001\u0002"],
    ] as const) {
      const res = await browser.fetch("/login", { method: "POST", headers: { "content-type": type }, body });
      expect(res.status, type).toBeGreaterThanOrEqual(400);
      expect(res.status, type).toBeLessThan(500);
      await res.arrayBuffer();
    }
  });

  it("a body over 1 MB: 413, whether the length is declared or streamed (chunked)", async () => {
    const server = await startTestServer();
    const declared = await fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `email=${"a".repeat(1024 * 1024)}`,
    });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: "invalid_request", error_description: "Request body is larger than 1 MB" });
    expect(declared.headers.get("cache-control")).toBe("no-store");

    async function* chunks() {
      for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, 97);
    }
    const streamed = await rawRequest(server.url, {
      method: "POST",
      path: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked" },
      body: chunks(),
    });
    expect(streamed.status).toBe(413);
    // Just under the limit is read (and then refused for what it says, not for its size), in fields of a length the
    // host accepts (input-guard.ts).
    const fields = `${"a".repeat(1000)}=1&`.repeat(Math.floor((1024 * 1024 - 10) / 1003));
    const under = await fetch(`${server.url}/login`, { method: "POST", body: fields, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(under.status).toBe(403);
    await under.arrayBuffer();
  });

  it("a wrong method: 405", async () => {
    const server = await startTestServer();
    const cases: Array<[string, string]> = [
      ["POST", "/api/health"],
      ["DELETE", "/api/health"],
      ["PUT", "/login"],
      ["DELETE", "/login"],
      ["PATCH", "/logout"],
      ["POST", "/"],
      ["POST", "/api/auth/callback/google"],
      ["TRACE", "/"],
      ["TRACE", "/login"],
    ];
    for (const [method, path] of cases) {
      const res = await rawRequest(server.url, { method, path });
      expect(res.status, `${method} ${path}`).toBe(405);
    }
    const health = await rawRequest(server.url, { method: "POST", path: "/api/health" });
    expect(health.headers.allow).toBe("GET, HEAD");
  });

  it("an unknown path: 404", async () => {
    const server = await startTestServer();
    for (const [method, path] of [["GET", "/nothing-here"], ["GET", "/api/nothing"], ["POST", "/api/nothing"], ["GET", "/build/nothing.js"]]) {
      const res = await rawRequest(server.url, { method: method!, path: path! });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
  });

  it("odd URLs, cookies and headers: 4xx or handled, never 500", async () => {
    const server = await startTestServer();
    const cases: Array<{ path: string; headers?: Record<string, string> }> = [
      { path: "/%E0%A4%A" },
      { path: "/%" },
      { path: "/login?returnTo=%" },
      { path: "/login?returnTo=%E0%A4%A" },
      { path: "/login?error=__proto__" },
      { path: "/login?error=constructor" },
      { path: "/api/auth/callback/google?state=%&code=%" },
      { path: "/?_data=routes%2Fnothing" },
      { path: "/login", headers: { cookie: '__session=%%%; __csrf="unterminated' } },
      { path: "/", headers: { cookie: "__session=" + "A".repeat(3000) } },
      { path: "/", headers: { cookie: "__session=eyJ9.bad; __session=twice" } },
      { path: "/login", headers: { "x-request-id": "../../etc/passwd\u00ff" } },
      { path: "/login", headers: { host: "evil.example<script>" } },
      { path: "/login", headers: { "content-type": "application/json" } },
    ];
    for (const { path, headers } of cases) {
      const res = await rawRequest(server.url, { method: "GET", path, headers });
      expect(res.status, path).toBeLessThan(500);
    }
    // The Host header never reaches a URL we publish.
    const res = await rawRequest(server.url, { method: "GET", path: "/login", headers: { host: "evil.example" } });
    expect(res.body).not.toContain("evil.example");
  });

  it("a request line or headers the HTTP parser rejects: 400 (Node answers before the app)", async () => {
    const server = await startTestServer();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(server.port, "127.0.0.1", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"));
      let data = "";
      socket.on("data", (chunk) => (data += chunk.toString()));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
  });
});
