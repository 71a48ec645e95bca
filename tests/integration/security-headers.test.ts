import { describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server.ts";

function csp(res: Response): Map<string, string> {
  const header = res.headers.get("content-security-policy") ?? "";
  return new Map(
    header
      .split(";")
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name = "", ...values] = d.split(/\s+/);
        return [name, values.join(" ")] as [string, string];
      }),
  );
}

function expectBaseline(res: Response) {
  const policy = csp(res);
  expect(policy.get("frame-ancestors")).toBe("'none'");
  expect(policy.get("object-src")).toBe("'none'");
  expect(policy.get("default-src")).toBe("'self'");
  expect(policy.get("base-uri")).toBe("'self'");
  expect(res.headers.get("x-frame-options")).toBe("DENY");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("same-origin");
  expect(res.headers.get("x-powered-by")).toBeNull();
}

describe("security headers on every response (OWASP Secure Headers; RFC 9700 §4.16 clickjacking)", () => {
  it("pages: CSP with a per-request nonce that the page's inline scripts carry, no 'unsafe-inline' scripts", async () => {
    const server = await startTestServer();
    const first = await fetch(`${server.url}/login`);
    const second = await fetch(`${server.url}/login`);
    expectBaseline(first);
    const scriptSrc = csp(first).get("script-src")!;
    expect(scriptSrc).not.toContain("unsafe-inline");
    expect(scriptSrc).not.toContain("unsafe-eval");
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(scriptSrc)![1]!;
    expect(nonce.length).toBeGreaterThanOrEqual(22);
    const html = await first.text();
    const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)];
    expect(inline.length).toBeGreaterThan(0);
    for (const [, attributes] of inline) expect(attributes).toContain(`nonce="${nonce}"`);
    // A fresh nonce for every response.
    expect(csp(second).get("script-src")).not.toContain(nonce);
    await second.text();
  });

  it("JSON, 404 and error responses carry them too", async () => {
    const server = await startTestServer();
    for (const [path, status] of [["/api/health", 200], ["/no-such-page", 404], ["/api/no-such-endpoint", 404]] as const) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(status);
      expectBaseline(res);
      await res.arrayBuffer();
    }
    const tooLarge = await fetch(`${server.url}/login`, { method: "POST", body: "x".repeat(1024 * 1024 + 1) });
    expect(tooLarge.status).toBe(413);
    expectBaseline(tooLarge);
  });

  it("no HSTS over plain http (a browser would pin a scheme the server does not serve)", async () => {
    const server = await startTestServer({ APP_URL: undefined });
    const res = await fetch(`${server.url}/api/health`);
    expect(res.headers.get("strict-transport-security")).toBeNull();
    expect(csp(res).has("upgrade-insecure-requests")).toBe(false);
  });

  it("HSTS (RFC 6797) when APP_URL is https", async () => {
    const server = await startTestServer({ APP_URL: "https://auth.example.test" });
    for (const path of ["/api/health", "/login"]) {
      const res = await fetch(`${server.url}${path}`);
      const hsts = res.headers.get("strict-transport-security") ?? "";
      expect(Number(/max-age=(\d+)/.exec(hsts)?.[1])).toBeGreaterThanOrEqual(31_536_000);
      expect(hsts).toContain("includeSubDomains");
      expectBaseline(res);
      await res.arrayBuffer();
    }
  });
});
