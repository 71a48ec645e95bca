/**
 * What the host records for the connection doctor (server/http/connection-notes.ts): a host other than APP_URL's
 * only when the host the client addressed is known (RFC 9728 §3.3 resource mismatch), a refused Origin, each once
 * per address and minute.
 */
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { DomainEventBus, type DomainEvents } from "../../server/events.ts";
import { connectionNotes, OncePerWindow } from "../../server/http/connection-notes.ts";
import type { RequestMeta } from "../../server/request/meta.ts";

function setup(trustProxy: boolean) {
  const bus = new DomainEventBus();
  const seen: Array<DomainEvents["security.event"]> = [];
  bus.on("security.event", (e) => seen.push(e));
  const notes = connectionNotes({ APP_URL: "https://mcp.example.com", TRUST_PROXY: trustProxy }, bus, (path) => path);
  const meta = { ip: "203.0.113.9", userAgent: "ua", clientId: null } as unknown as RequestMeta;
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  return { notes, seen, meta, req };
}

describe("connection notes: the host the client called (RFC 9728 §3.3)", () => {
  it("records a direct request under another host, once per address and minute", () => {
    const { notes, seen, meta, req } = setup(false);
    notes.checkHost(req({ host: "mcp.example.com" }), meta, "/mcp/mcp");
    expect(seen).toEqual([]);
    notes.checkHost(req({ host: "10.0.0.5:3000" }), meta, "/mcp/mcp");
    notes.checkHost(req({ host: "10.0.0.5:3000" }), meta, "/mcp/mcp");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: "RESOURCE_MISMATCH", ip: "203.0.113.9", details: { reason: "host", calledHost: "10.0.0.5:3000", expected: "https://mcp.example.com" } });
  });

  it("behind a proxy it cannot see through (Via, X-Forwarded-For), Host says nothing: not recorded", () => {
    const { notes, seen, meta, req } = setup(false);
    notes.checkHost(req({ host: "app:3000", "x-forwarded-for": "198.51.100.1" }), meta, "/mcp/mcp");
    notes.checkHost(req({ host: "app:3000", via: "1.1 nginx" }), meta, "/mcp/mcp");
    expect(seen).toEqual([]);
  });

  it("with TRUST_PROXY, X-Forwarded-Host is the host the client called", () => {
    const { notes, seen, meta, req } = setup(true);
    notes.checkHost(req({ host: "app:3000", "x-forwarded-for": "198.51.100.1", "x-forwarded-host": "mcp.example.com" }), meta, "/mcp/mcp");
    expect(seen).toEqual([]);
    notes.checkHost(req({ host: "app:3000", "x-forwarded-for": "198.51.100.1", "x-forwarded-host": "old-name.example.com" }), meta, "/mcp/mcp");
    expect(seen.map((e) => e.details?.calledHost)).toEqual(["old-name.example.com"]);
  });
});

describe("connection notes: a refused Origin", () => {
  it("is recorded with the Origin and the route, once per Origin, address and minute", () => {
    const { notes, seen, meta } = setup(false);
    notes.originRefused(meta, "https://app.example", "/mcp/mcp");
    notes.originRefused(meta, "https://app.example", "/mcp/mcp");
    notes.originRefused(meta, "https://other.example", "/mcp/mcp");
    expect(seen.map((e) => [e.type, e.details?.origin, e.details?.endpoint])).toEqual([
      ["INVALID_ORIGIN", "https://app.example", "/mcp/mcp"],
      ["INVALID_ORIGIN", "https://other.example", "/mcp/mcp"],
    ]);
  });
});

describe("OncePerWindow", () => {
  it("is true once per key and window, and stays bounded", () => {
    const once = new OncePerWindow(1_000, 3);
    expect([once.first("a", 0), once.first("a", 500), once.first("a", 1_001)]).toEqual([true, false, true]);
    for (const key of ["b", "c", "d", "e"]) once.first(key, 1_100);
    // "a" (the oldest) was dropped to stay within 3 keys: it counts as new again.
    expect(once.first("a", 1_200)).toBe(true);
  });
});
