import { describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server.ts";

const TOKEN = "metrics-token-0123456789abcdef";

describe("GET /metrics access (METRICS_TOKEN bearer, TRUSTED_IP_RANGES)", () => {
  it("is open to loopback when neither a token nor trusted ranges are configured", async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toContain("# TYPE http_server_request_duration_seconds histogram");
  });

  it("with METRICS_TOKEN: 401 without or with a wrong token, 200 with the token", async () => {
    const server = await startTestServer({ METRICS_TOKEN: TOKEN });
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect(await none.text()).not.toContain("# TYPE");
    const wrong = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${server.url}/metrics`, {
      headers: { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` },
    });
    expect(basic.status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("analytics_buffer_rows");
  });

  it("with TRUSTED_IP_RANGES: callers inside a range get in, loopback outside every range is refused (403)", async () => {
    const outside = await startTestServer({ TRUSTED_IP_RANGES: "10.0.0.0/8,2001:db8::/32" });
    expect((await fetch(`${outside.url}/metrics`)).status).toBe(403);
    const inside = await startTestServer({ TRUSTED_IP_RANGES: "10.0.0.0/8,127.0.0.1/32" }, { database: outside.database });
    expect((await fetch(`${inside.url}/metrics`)).status).toBe(200);
  });

  it("with both: the token works from anywhere, a trusted address works without it", async () => {
    const server = await startTestServer({ METRICS_TOKEN: TOKEN, TRUSTED_IP_RANGES: "192.0.2.0/24" });
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const trusted = await startTestServer({ METRICS_TOKEN: TOKEN, TRUSTED_IP_RANGES: "127.0.0.0/8" }, { database: server.database });
    expect((await fetch(`${trusted.url}/metrics`)).status).toBe(200);
  });

  it("registries are per server: one server's traffic does not show in another's metrics", async () => {
    const a = await startTestServer();
    const b = await startTestServer({}, { database: a.database });
    for (let i = 0; i < 3; i++) await fetch(`${a.url}/api/health`);
    const countOf = (text: string) =>
      Number(/http_server_request_duration_seconds_count\{method="GET",route="\/api\/health",status="200"\} (\d+)/.exec(text)?.[1] ?? 0);
    expect(countOf(await (await fetch(`${a.url}/metrics`)).text())).toBe(3);
    expect(countOf(await (await fetch(`${b.url}/metrics`)).text())).toBe(0);
  });
});
