/**
 * Helpers for the analytics and observability tests: a logger whose lines the test can read, tokens minted the way
 * the token endpoint stores them (until a test drives the real OAuth flow), and an MCP `tools/call`.
 */
import { Writable } from "node:stream";
import { SecretPrefix, randomSecret } from "../../server/crypto.ts";
import type { PrismaClient } from "../../server/db/client.ts";
import { createLogger, type Logger } from "../../server/logger.ts";
import type { TestServer } from "../helpers/server.ts";
import { mintAccessToken, type MintedToken } from "../helpers/tokens.ts";

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

/** A minted token (tests/helpers/tokens.ts); `clientDbId` is the Client row id, `clientId` the public client_id. */
export type SeededToken = MintedToken;

/**
 * A user, a client, a grant and an access token stored exactly as the token endpoint stores them (digest only).
 * Used where a test needs a token before it reaches the part under test. With `email`, that person is reused (and
 * given `role`).
 */
export async function seedAccessToken(
  server: { services: { prisma: PrismaClient }; env: { APP_URL: string } },
  options: { email?: string; role?: "USER" | "ADMIN"; scope?: string; resource?: string; expiresInSeconds?: number } = {},
): Promise<SeededToken> {
  const { prisma } = server.services;
  const { email, ...rest } = options;
  const user = email
    ? await prisma.user.upsert({ where: { email }, create: { email, role: options.role ?? "USER" }, update: { role: options.role ?? "USER" } })
    : null;
  return mintAccessToken(prisma, server.env.APP_URL, { ...rest, userId: user?.id, clientName: "Analytics test client" });
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

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (0.0.4): samples and the `# TYPE` of each family. */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!match) throw new Error(`Unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return { samples, types };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

export interface SmokeFlow {
  seeded: SeededToken;
  /** The OAuth client registered by the flow (public client_id). */
  clientId: string;
  userId: string;
  metricsText: string;
}

/**
 * Traffic that touches every metric family through the real endpoints: health; registration, sign-in, consent,
 * code exchange, refresh rotation and a replayed refresh token; MCP (a tool call, 401 without a token, an invalid
 * token, the per-IP rate limit). The server must run with `AUTH_DEV_LOGIN: "true"` and `RATE_LIMIT_MCP_PER_IP: "4"`.
 */
export async function smokeFlow(server: TestServer): Promise<SmokeFlow> {
  const { REDIRECT, obtainCode, publicClient, register, signIn, tokenRequest } = await import("../integration/oauth-support.ts");
  const seeded = await seedAccessToken(server);
  await fetch(`${server.url}/api/health`);

  const client = await register(server.url, publicClient());
  const jar = await signIn(server.url, `smoke-${Math.random().toString(36).slice(2)}@example.com`);
  const { code, verifier } = await obtainCode(server.url, jar, client.client_id);
  const redeem = { grant_type: "authorization_code", code, client_id: client.client_id, redirect_uri: REDIRECT };
  const tokens = await tokenRequest(server.url, { ...redeem, code_verifier: verifier });
  if (tokens.status !== 200) throw new Error(`token endpoint: ${JSON.stringify(tokens.body)}`);
  const refresh = { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token as string, client_id: client.client_id };
  await tokenRequest(server.url, refresh);
  await tokenRequest(server.url, refresh); // replayed: reuse, the family is revoked

  await mcpPost(server.url, null, "tools/list");
  await mcpPost(server.url, seeded.token, "tools/call", { name: "whoami", arguments: {} });
  await mcpPost(server.url, randomSecret(SecretPrefix.accessToken), "tools/list");
  for (let i = 0; i < 3; i++) await mcpPost(server.url, seeded.token, "tools/list");

  await server.services.analytics.flush();
  const user = await server.services.prisma.accessToken.findFirst({ where: { clientId: { not: seeded.clientDbId } }, select: { userId: true } });
  const metricsText = await (await fetch(`${server.url}/metrics`)).text();
  return { seeded, clientId: client.client_id, userId: user?.userId ?? "", metricsText };
}
