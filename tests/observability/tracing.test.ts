/**
 * OpenTelemetry traces end to end: the real entry point (`node scripts/start.js`, as `npm start` runs it) with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at a local OTLP/HTTP receiver (the outside world, faked), then the spans it
 * exports: HTTP server spans named after the route pattern, database spans under them, OAuth step and MCP tool-call
 * spans, and log lines carrying the trace id. Tracing is process-global, so it runs in its own process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SecretPrefix, randomSecret } from "../../server/crypto.ts";
import { createDatabase, type Database } from "../../server/db/client.ts";
import { freePort } from "../../server/db/embedded.ts";
import { tracingActive } from "../../server/analytics/trace-context.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { TEST_AUTH_SECRET } from "../helpers/server.ts";
import { REDIRECT, obtainCode, publicClient, register, signIn, tokenRequest } from "../integration/oauth-support.ts";
import { eventually, mcpPost, seedAccessToken, type SeededToken } from "./support.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean } }>;
  events?: Array<{ name: string }>;
}

const SERVER = 2;
const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.boolValue;
};

describe("OpenTelemetry tracing (OTLP/HTTP export when OTEL_EXPORTER_OTLP_ENDPOINT is set)", () => {
  const spans: OtlpSpan[] = [];
  const logLines: string[] = [];
  let receiver: http.Server;
  let app: ChildProcess;
  let database: TestDatabase;
  let db: Database;
  let baseUrl: string;
  let seeded: SeededToken;
  const secrets: string[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url === "/v1/traces") {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
          };
          for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const otlp = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    database = await createTestDatabase();
    db = createDatabase(database.url);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    seeded = await seedAccessToken({ services: { prisma: db.prisma }, env: { APP_URL: baseUrl } });
    secrets.push(seeded.token);

    app = spawn(process.execPath, ["scripts/start.js"], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "test",
        PORT: String(port),
        HOST: "127.0.0.1",
        APP_URL: baseUrl,
        DATABASE_URL: database.url,
        AUTH_SECRET: TEST_AUTH_SECRET,
        AUTH_DEV_LOGIN: "true",
        LOG_LEVEL: "info",
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_SERVICE_NAME: "mcp-oauth-test",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    app.stdout!.on("data", (chunk) => logLines.push(...String(chunk).split("\n").filter(Boolean)));
    app.stderr!.on("data", (chunk) => (stderr += String(chunk)));
    await eventually(async () => (await fetch(`${baseUrl}/api/health`).catch(() => undefined))?.ok, 30_000, 200).catch(() => {
      throw new Error(`the server did not start:\n${stderr}\n${logLines.join("\n")}`);
    });

    // The OAuth steps: registration, consent, a failed and a successful code exchange.
    const client = await register(baseUrl, publicClient());
    const jar = await signIn(baseUrl, "traced@example.com");
    const { code, verifier } = await obtainCode(baseUrl, jar, client.client_id);
    const redeem = { grant_type: "authorization_code", code, client_id: client.client_id, redirect_uri: REDIRECT };
    expect((await tokenRequest(baseUrl, { ...redeem, code_verifier: "y".repeat(43) })).status).toBe(400);
    const tokens = await tokenRequest(baseUrl, { ...redeem, code_verifier: verifier });
    expect(tokens.status).toBe(200);
    secrets.push(code, verifier, tokens.body.access_token as string, tokens.body.refresh_token as string);

    expect((await mcpPost(baseUrl, seeded.token, "tools/call", { name: "whoami", arguments: {} })).status).toBe(200);
    expect((await mcpPost(baseUrl, randomSecret(SecretPrefix.accessToken), "tools/list")).status).toBe(401);
    await eventually(
      async () => ["mcp.tool.call", "POST /mcp/mcp", "oauth.token.issued"].every((name) => spans.some((s) => s.name === name)),
      10_000,
    );
    // Let one flush interval pass so an analytics write would have been traced if it were.
    await new Promise((r) => setTimeout(r, 1_500));
  }, 60_000);

  afterAll(async () => {
    if (app && app.exitCode === null) {
      const exited = new Promise((resolve) => app.once("exit", resolve));
      app.kill("SIGTERM");
      await exited;
    }
    await new Promise((resolve) => receiver?.close(resolve));
    await db?.close();
    await database?.drop();
  });

  it("is off in a process that did not set the endpoint (this test runner)", () => {
    expect(tracingActive()).toBe(false);
  });

  it("exports HTTP server spans named after the route pattern, with database spans beneath them", () => {
    const health = spans.find((s) => s.kind === SERVER && s.name === "GET /api/health");
    expect(health, spans.map((s) => s.name).join(", ")).toBeDefined();
    expect(attr(health!, "http.route")).toBe("/api/health");
    const inTrace = spans.filter((s) => s.traceId === health!.traceId);
    const query = inTrace.find((s) => s.name.startsWith("pg.query"));
    expect(query, "a pg span in the health check's trace").toBeDefined();
    expect(attr(query!, "db.query.text") ?? attr(query!, "db.statement")).toBe("SELECT 1");
  });

  it("exports a span for each MCP tool call, inside the request's trace", () => {
    const call = spans.find((s) => s.name === "mcp.tool.call")!;
    expect(attr(call, "mcp.tool.name")).toBe("whoami");
    expect(attr(call, "mcp.tool.outcome")).toBe("ok");
    const request = spans.find((s) => s.traceId === call.traceId && s.kind === SERVER)!;
    expect(request.name).toBe("POST /mcp/mcp");
    // Security events are recorded on the request's span.
    const refused = spans.filter((s) => s.kind === SERVER && s.name === "POST /mcp/mcp" && s.traceId !== call.traceId);
    expect(refused.some((s) => s.events?.some((e) => e.name === "security.event"))).toBe(true);
  });

  it("exports a span for each OAuth step, inside the trace of the request that took it", () => {
    const inRequest = (name: string, route: string) => {
      const step = spans.find((s) => s.name === name);
      expect(step, name).toBeDefined();
      const request = spans.find((s) => s.traceId === step!.traceId && s.kind === SERVER);
      expect(request?.name, name).toBe(route);
      return step!;
    };
    expect(attr(inRequest("oauth.client.registered", "POST /api/oauth/register"), "oauth.client_kind")).toBe("dynamic");
    const outcomes = spans.filter((s) => s.name === "oauth.authorize").map((s) => attr(s, "oauth.outcome"));
    expect(outcomes).toEqual(expect.arrayContaining(["consent_shown", "approved"]));
    inRequest("oauth.authorize", "GET /oauth/authorize");
    expect(attr(inRequest("oauth.token.issued", "POST /api/oauth/token"), "oauth.grant_type")).toBe("authorization_code");
    expect(attr(inRequest("oauth.token.error", "POST /api/oauth/token"), "oauth.error")).toBe("invalid_grant");
  });

  it("keeps analytics writes and query values out of traces", () => {
    const statements = spans.map((s) => String(attr(s, "db.query.text") ?? attr(s, "db.statement") ?? ""));
    expect(statements.some((q) => /INSERT INTO "public"\."AnalyticsRequest"|INSERT INTO "AnalyticsRequest"/.test(q))).toBe(false);
    const everything = JSON.stringify(spans);
    expect(secrets).toHaveLength(5);
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });

  it("puts the trace id on the request's log line", () => {
    const health = spans.find((s) => s.kind === SERVER && s.name === "GET /api/health")!;
    const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "request" && l.trace_id === health.traceId);
    expect(line, logLines.slice(0, 5).join("\n")).toMatchObject({ route: "/api/health", span_id: health.spanId });
  });
});
