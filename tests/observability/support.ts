/**
 * Helpers for the analytics and observability tests: a logger whose lines the test can read, tokens minted the way
 * the token endpoint stores them (until a test drives the real OAuth flow), and an MCP `tools/call`.
 */
import { Writable } from "node:stream";
import { SecretPrefix, randomSecret, sha256Hex } from "../../server/crypto.ts";
import { createLogger, type Logger } from "../../server/logger.ts";
import type { TestServer } from "../helpers/server.ts";

export interface CapturedLog {
  log: Logger;
  lines: string[];
}

/** A real pino logger at `info` writing into memory. */
export function captureLog(level = "info"): CapturedLog {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      callback();
    },
  });
  return { log: createLogger(level, { destination }), lines };
}

export interface SeededToken {
  token: string;
  userId: string;
  /** Client row id. */
  clientDbId: string;
  /** Public client_id. */
  clientId: string;
  grantId: string;
}

/**
 * A user, a client, a grant and an access token stored exactly as the token endpoint stores them (digest only).
 * Used where a test needs a token before it reaches the part under test.
 */
export async function seedAccessToken(
  server: TestServer,
  options: { email?: string; role?: "USER" | "ADMIN"; scope?: string; resource?: string; expiresInSeconds?: number } = {},
): Promise<SeededToken> {
  const { prisma } = server.services;
  const email = options.email ?? `user-${Math.random().toString(36).slice(2)}@example.com`;
  const user = await prisma.user.upsert({
    where: { email },
    create: { email, role: options.role ?? "USER" },
    update: { role: options.role ?? "USER" },
  });
  const clientId = randomSecret(SecretPrefix.clientId, 12);
  const client = await prisma.client.create({
    data: { clientId, name: "Analytics test client", redirectUris: ["http://127.0.0.1:9/cb"], scope: "mcp:tools mcp:admin" },
  });
  const scope = options.scope ?? "mcp:tools";
  const resource = options.resource ?? `${server.env.APP_URL}/mcp`;
  const grant = await prisma.grant.create({ data: { userId: user.id, clientId: client.id, scope, resource } });
  const token = randomSecret(SecretPrefix.accessToken);
  await prisma.accessToken.create({
    data: {
      tokenHash: sha256Hex(token),
      grantId: grant.id,
      clientId: client.id,
      userId: user.id,
      scope,
      resource,
      expiresAt: new Date(Date.now() + (options.expiresInSeconds ?? 3600) * 1000),
    },
  });
  return { token, userId: user.id, clientDbId: client.id, clientId, grantId: grant.id };
}

let rpcId = 0;

/** One JSON-RPC request to the Streamable HTTP endpoint (stateless, JSON responses). */
export function mcpPost(baseUrl: string, token: string | null, method: string, params: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${baseUrl}/mcp/mcp`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": "2025-06-18",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params }),
  });
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
