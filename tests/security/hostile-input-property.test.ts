/**
 * Property (issue 13): whatever text reaches whichever route and parameter, the answer is never a 5xx, never a cut
 * connection, and nothing is logged at error level. fast-check generates the hostile values (NUL, lone surrogates,
 * invalid UTF-8 bytes, long runs, control and bidi characters, percent-escapes, JSON fragments, prototype keys) and
 * where they go (a query parameter, a form field, a JSON field, a path segment, a header, a repeated parameter);
 * each request starts from a plausible request for its route (real client id, CSRF token, session, bearer token)
 * so the hostile value gets past the first checks.
 *
 * The routes are enumerated from the app: the Remix build's route table, tRPC's procedures (with their input keys),
 * and the MCP tools the server lists (with their argument names); only the host's own routes (health, metrics, MCP
 * transports) are listed here. A new Remix route without parameters below fails the first test.
 *
 * Bounded for `npm test`: a sweep of every parameter with the four values the issue measured (about 700 requests),
 * then HOSTILE_RUNS random runs (default 500) for at most HOSTILE_SECONDS (default 45), on loopback only. A failure prints the seed and the shrunk request; re-run it with HOSTILE_SEED=<seed>.
 */
import http from "node:http";
import fc from "fast-check";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { ServerBuild } from "@remix-run/node";
import { loadRemixBuild } from "../../server/http/remix.ts";
import { appRouter } from "../../server/trpc/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { mintAccessToken } from "../helpers/tokens.ts";
import { captureLog } from "../observability/support.ts";
import { browse, CookieJar, hiddenField, pkce, publicClient, REDIRECT, register, signIn, type RegisteredClient } from "../integration/oauth-support.ts";

const RUNS = Number(process.env.HOSTILE_RUNS ?? 500);
const SECONDS = Number(process.env.HOSTILE_SECONDS ?? 45);

type Hostile = string | Uint8Array;
type BodyKind = "none" | "form" | "json";
type Session = "none" | "user" | "admin" | "hostile";

/** A route and what a plausible request to it carries; the property puts one hostile value somewhere in it. */
interface RouteCase {
  name: string;
  method: "GET" | "POST";
  /** Path with `:param` placeholders (filled with `pathParams` or a hostile value). */
  path: string;
  body: BodyKind;
  /** Baseline parameters (query for GET, body for POST). */
  params: () => Record<string, unknown>;
  /** Query parameters of a POST. */
  query?: () => Record<string, string>;
  headers?: () => Record<string, string>;
  /** Sessions to try (default all). */
  sessions?: Session[];
  /** Answers streamed without end (SSE): only the status is read. */
  stream?: boolean;
  /** A tRPC query: `params` is its input, sent as JSON in the `input` query parameter. */
  trpcInput?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile values

const SPECIALS = [
  "\u0000", "a\u0000b", "\ud800", "x\udfff", "\udc00\ud800", "\ud83d", "%00", "%", "%zz", "%C3%28", "%ED%A0%80",
  "..", "../../etc/passwd", "\r\n", "\r\nSet-Cookie: x=1", "<script>alert(1)</script>", "'; DROP TABLE \"User\";--",
  "__proto__", "constructor", "prototype", "\u202e", "\u2066", "\ufeff", "\u200b", "😀", "e\u0301", "null", "[]", "{}",
  '{"a":"\\u0000"}', '{"__proto__":{"x":1}}', "${jndi:ldap://x}", " ", "", "\t", "\\", '"', "+", "&", "=", "#", "?",
  "http://evil.example/", "//evil.example", "javascript:alert(1)", "\u0085", "\u2028", "\x7f", "\xff", "-1", "1e309",
  "NaN", "9".repeat(40), "true",
];

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

const hostileText: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SPECIALS) },
  { weight: 2, arbitrary: fc.string({ unit: codeUnit, maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("a", "é", "😀", "\u0000", "%", "\ud800", "a\u0000"), fc.integer({ min: 100, max: 12_000 }))
      .map(([unit, n]) => unit.repeat(n)),
  },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...SPECIALS), fc.string({ maxLength: 8 })).map(([a, b]) => a + b + a) },
);

/** Raw bytes, for values sent as bytes (invalid UTF-8 included). */
const hostileBytes = fc.uint8Array({ minLength: 1, maxLength: 32 });

/** What the issue measured, as values: NUL, a lone surrogate, invalid UTF-8 bytes, an over-long value. */
const CORE: Hostile[] = ["a\u0000b", "x\ud800", new Uint8Array([0x61, 0xc3, 0x28, 0xff]), "é".repeat(10_000)];

const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  { weight: 5, arbitrary: hostileText },
  { weight: 1, arbitrary: hostileBytes },
  { weight: 2, arbitrary: fc.constantFrom(...CORE) },
);

// ---------------------------------------------------------------------------------------------------------------
// Encoding: the wire is bytes; lone surrogates travel as their generalized UTF-8 (WTF-8) bytes, which is invalid UTF-8.

function wtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const code = text.codePointAt(i)!;
    if (code > 0xffff) i += 1;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return Buffer.from(bytes);
}

const toBytes = (value: Hostile): Buffer => (typeof value === "string" ? wtf8(value) : Buffer.from(value));

/** Percent-encodes every byte but the unreserved ones (RFC 3986 §2.3). */
function encodeComponent(value: Hostile): string {
  let out = "";
  for (const byte of toBytes(value)) {
    out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function encodeForm(params: Array<[Hostile, Hostile]>): string {
  return params.map(([name, value]) => `${encodeComponent(name)}=${encodeComponent(value)}`).join("&");
}

/** A header value Node will send: its bytes as Latin-1, control characters (which Node refuses) as `?`. */
function headerValue(value: Hostile): string {
  // eslint-disable-next-line no-control-regex -- control characters are what Node refuses to send
  return toBytes(value).toString("latin1").replace(/[\x00-\x08\x0a-\x1f\x7f]/g, "?");
}

const MARK = "\u0001hostile\u0001";

// ---------------------------------------------------------------------------------------------------------------
// The server, its routes, and a plausible request for each

let server: TestServer;
let client: RegisteredClient;
let errorLines: string[] = [];
const jars: Record<Exclude<Session, "none" | "hostile">, CookieJar> = { user: new CookieJar(), admin: new CookieJar() };
const anon = new CookieJar();
const csrf: Record<"none" | "user" | "admin", string> = { none: "", user: "", admin: "" };
let userToken = "";
let adminToken = "";
let routes: RouteCase[] = [];
let build: ServerBuild;

/** Remix route patterns (full paths) of the build. */
function remixPatterns(routesOfBuild: ServerBuild["routes"]): string[] {
  const full = (id: string): string => {
    const route = routesOfBuild[id]!;
    const own = route.path ?? "";
    const parent = route.parentId ? full(route.parentId) : "";
    return `${parent}/${own}`.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
  };
  return [...new Set(Object.keys(routesOfBuild).filter((id) => id !== "root").map(full))].sort();
}

function oauthAuthorizeParams(): Record<string, string> {
  return {
    response_type: "code",
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
    state: "s",
    scope: "mcp:tools",
    resource: `${server.env.APP_URL}/mcp`,
    prompt: "consent",
    response_mode: "query",
  };
}

const analyticsQuery = () => ({ from: "2020-01-01T00:00:00Z", to: "2030-01-01T00:00:00Z", limit: "10", cursor: "", endpoint: "/", method: "GET", status: "2xx", clientId: "c", userId: "u", eventType: "X", severity: "low", reviewed: "false" });

/** Parameters of each Remix route (read from the routes' code: app/routes/*, server/oauth, server/analytics). */
function remixCases(): Record<string, RouteCase[]> {
  const page = (path: string, params: () => Record<string, unknown> = () => ({})): RouteCase => ({ name: `GET ${path}`, method: "GET", path, body: "none", params });
  const wellKnown = (path: string) => [page(path), { ...page(path), name: `POST ${path}`, method: "POST" as const, body: "form" as const }];
  return {
    "/.well-known/oauth-authorization-server": wellKnown("/.well-known/oauth-authorization-server"),
    "/.well-known/openid-configuration": wellKnown("/.well-known/openid-configuration"),
    "/.well-known/oauth-protected-resource": wellKnown("/.well-known/oauth-protected-resource"),
    "/.well-known/oauth-protected-resource/*": [page("/.well-known/oauth-protected-resource/:rest", () => ({})), page("/.well-known/oauth-protected-resource/mcp/:rest")],
    "/": [page("/")],
    "/account": [page("/account", () => ({ cursor: "x", direction: "next" }))],
    "/admin": [page("/admin", () => ({ range: "24h" }))],
    "/admin/clients": [page("/admin/clients", () => ({ q: "x", kind: "DYNAMIC", status: "active", cursor: "x", direction: "next" }))],
    "/admin/clients/:id": [page("/admin/clients/:id", () => ({ cursor: "x" }))],
    "/admin/clients/:id/doctor": [page("/admin/clients/:id/doctor")],
    "/admin/doctor": [page("/admin/doctor", () => ({ ip: "203.0.113.9", clientId: "c" }))],
    "/admin/identity-providers": [page("/admin/identity-providers")],
    "/admin/security": [page("/admin/security", () => ({ type: "INVALID_TOKEN", severity: "high", reviewed: "false", window: "24h", clientId: "c", cursor: "x" }))],
    "/admin/tokens": [page("/admin/tokens", () => ({ clientId: "c", user: "u", userId: "u", cursor: "x", direction: "prev" }))],
    "/admin/users": [page("/admin/users", () => ({ q: "x", role: "ADMIN", cursor: "x" }))],
    "/admin/users/:id": [page("/admin/users/:id")],
    "/api/analytics": [page("/api/analytics", analyticsQuery)],
    "/api/analytics/security": [page("/api/analytics/security", analyticsQuery)],
    "/api/analytics/collect": [
      {
        name: "POST /api/analytics/collect",
        method: "POST",
        path: "/api/analytics/collect",
        body: "json",
        params: () => ({ type: "request", method: "GET", endpoint: "/x", statusCode: 200, responseTime: 1, clientId: "c", oauthError: "e", timestamp: new Date().toISOString(), eventType: "X", severity: "low", userId: "u", details: { a: "b" } }),
        headers: () => ({ authorization: `Bearer ${adminToken}` }),
      },
    ],
    "/api/auth/callback/google": [page("/api/auth/callback/google", () => ({ code: "c", state: "s", error: "access_denied" }))],
    "/api/auth/signin": [page("/api/auth/signin", () => ({ callbackUrl: "/account" }))],
    "/api/oauth/introspect": [oauthPost("/api/oauth/introspect", () => ({ token: userToken, token_type_hint: "access_token", client_id: client.client_id }))],
    "/api/oauth/revoke": [oauthPost("/api/oauth/revoke", () => ({ token: "mcprt_x", token_type_hint: "refresh_token", client_id: client.client_id }))],
    "/api/oauth/token": [
      oauthPost("/api/oauth/token", () => ({ grant_type: "authorization_code", code: "mcpac_x", code_verifier: "v".repeat(43), client_id: client.client_id, redirect_uri: REDIRECT, resource: `${server.env.APP_URL}/mcp` })),
      oauthPost("/api/oauth/token", () => ({ grant_type: "refresh_token", refresh_token: "mcprt_x", client_id: client.client_id, scope: "mcp:tools", client_secret: "s" })),
      // Issue 15: client_credentials with a private_key_jwt assertion, and the ID-JAG jwt-bearer grant.
      oauthPost("/api/oauth/token", () => ({ grant_type: "client_credentials", client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", scope: "mcp:tools", resource: `${server.env.APP_URL}/mcp` })),
      oauthPost("/api/oauth/token", () => ({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: "eyJ0eXAiOiJvYXV0aC1pZC1qYWcrand0In0.eyJpc3MiOiJ4In0.c2ln", client_id: client.client_id, scope: "mcp:tools" })),
    ],
    "/api/oauth/register": [
      {
        name: "POST /api/oauth/register",
        method: "POST",
        path: "/api/oauth/register",
        body: "json",
        params: () => ({
          ...publicClient(),
          client_name: "Fuzz",
          scope: "mcp:tools",
          software_id: "s",
          software_version: "1",
          contacts: ["a@example.com"],
          client_uri: "https://a.example/",
          logo_uri: "https://a.example/l.png",
          tos_uri: "https://a.example/tos",
          policy_uri: "https://a.example/p",
          name: "Original",
          redirectUris: [REDIRECT],
        }),
        sessions: ["none"],
      },
    ],
    "/api/trpc/*": trpcCases(),
    "/auth/google": [page("/auth/google", () => ({ returnTo: "/account" })), formPost("/auth/google", () => ({ csrf: "" }), () => ({ returnTo: "/account" }))],
    "/login": [page("/login", () => ({ returnTo: "/account", error: "csrf" })), formPost("/login", () => ({ csrf: "", email: "fuzz@example.com", returnTo: "/account" }))],
    // Signing out with a valid token would end the sessions the other cases use: no CSRF token in its baseline.
    "/logout": [page("/logout"), { ...formPost("/logout", () => ({ returnTo: "/" })), sessions: ["none", "hostile"] }],
    "/oauth/authorize": [page("/oauth/authorize", oauthAuthorizeParams), formPost("/oauth/authorize", () => ({ csrf: "", decision: "allow" }), oauthAuthorizeParams)],
  };
}

function oauthPost(path: string, params: () => Record<string, unknown>): RouteCase {
  return { name: `POST ${path}`, method: "POST", path, body: "form", params, sessions: ["none"] };
}

/** A form post of our pages; `csrf: ""` in the baseline is replaced by the session's real token. */
function formPost(path: string, params: () => Record<string, unknown>, query?: () => Record<string, string>): RouteCase {
  return { name: `POST ${path}`, method: "POST", path, body: "form", params, query, headers: () => ({ origin: server.env.APP_URL }) };
}

/** Every tRPC procedure, with the keys of its input object (enumerated from the router). */
function trpcCases(): RouteCase[] {
  const procedures = (appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string; inputs: unknown[] } }> } })._def.procedures;
  return Object.entries(procedures).map(([name, procedure]) => {
    const keys = inputKeys(procedure._def.inputs[0]);
    const input = () => Object.fromEntries(keys.map((key) => [key, "x"]));
    if (procedure._def.type === "query") {
      return { name: `GET /api/trpc/${name}`, method: "GET", path: `/api/trpc/${name}`, body: "none", params: input, trpcInput: true } satisfies RouteCase;
    }
    return {
      name: `POST /api/trpc/${name}`,
      method: "POST",
      path: `/api/trpc/${name}`,
      body: "json",
      params: input,
      headers: () => ({ origin: server.env.APP_URL }),
    } satisfies RouteCase;
  });
}

function inputKeys(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : ["id"];
}

/** The host's own routes (server/http/app.ts, mcp-routes.ts), and the MCP tools with their argument names. */
async function hostCases(): Promise<RouteCase[]> {
  const tools = await listTools();
  const mcpHeaders = (token: string) => () => ({
    authorization: `Bearer ${token}`,
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18",
  });
  const toolCalls = tools.flatMap((tool) =>
    [userToken, adminToken].map(
      (token): RouteCase => ({
        name: `POST /mcp/mcp tools/call ${tool.name}`,
        method: "POST",
        path: "/mcp/mcp",
        body: "json",
        params: () => ({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool.name, arguments: Object.fromEntries(tool.args.map((a) => [a, "x"])) } }),
        headers: mcpHeaders(token),
        sessions: ["none"],
      }),
    ),
  );
  return [
    { name: "GET /api/health", method: "GET", path: "/api/health", body: "none", params: () => ({}) },
    { name: "GET /metrics", method: "GET", path: "/metrics", body: "none", params: () => ({}), headers: () => ({ authorization: "Bearer 0123456789abcdef" }) },
    ...["initialize", "tools/list", "ping", "resources/list", "prompts/list", "notifications/initialized"].map(
      (method): RouteCase => ({
        name: `POST /mcp/mcp ${method}`,
        method: "POST",
        path: "/mcp/mcp",
        body: "json",
        params: () => ({ jsonrpc: "2.0", id: 1, method, params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "fuzz", version: "1" } } }),
        headers: mcpHeaders(userToken),
        sessions: ["none"],
      }),
    ),
    ...toolCalls,
    { name: "GET /mcp/mcp", method: "GET", path: "/mcp/mcp", body: "none", params: () => ({}), headers: mcpHeaders(userToken), sessions: ["none"], stream: true },
    { name: "GET /mcp/sse", method: "GET", path: "/mcp/sse", body: "none", params: () => ({}), headers: mcpHeaders(userToken), sessions: ["none"], stream: true },
    {
      name: "POST /mcp/message",
      method: "POST",
      path: "/mcp/message",
      body: "json",
      query: () => ({ sessionId: "00000000-0000-0000-0000-000000000000" }),
      params: () => ({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      headers: mcpHeaders(userToken),
      sessions: ["none"],
    },
  ];
}

async function listTools(): Promise<Array<{ name: string; args: string[] }>> {
  const res = await fetch(`${server.url}/mcp/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  const text = await res.text();
  const json = JSON.parse(text.startsWith("{") ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? "{}")) as {
    result?: { tools?: Array<{ name: string; inputSchema?: { properties?: Record<string, unknown> } }> };
  };
  return (json.result?.tools ?? []).map((tool) => ({ name: tool.name, args: Object.keys(tool.inputSchema?.properties ?? {}) }));
}

beforeAll(async () => {
  // Remix warns on the console for every unknown path ("No routes matched location …"); thousands of them here.
  vi.spyOn(console, "warn").mockImplementation(() => {});
  build = await loadRemixBuild();
  // The server logs at error level only, into memory: the property fails on any line.
  const captured = captureLog("error");
  errorLines = captured.lines;
  const log = captured.log;
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", ADMIN_EMAILS: "fuzz-admin@example.com", METRICS_TOKEN: "0123456789abcdef" }, { log });
  client = await register(server.url, publicClient());
  await signIn(server.url, "fuzz-user@example.com", jars.user);
  await signIn(server.url, "fuzz-admin@example.com", jars.admin);
  csrf.none = hiddenField(await (await browse(anon, `${server.url}/login`)).text(), "csrf");
  csrf.user = hiddenField(await (await browse(jars.user, `${server.url}/logout`)).text(), "csrf");
  csrf.admin = hiddenField(await (await browse(jars.admin, `${server.url}/logout`)).text(), "csrf");
  const prisma = server.services.prisma;
  userToken = (await mintAccessToken(prisma, server.env.APP_URL, { email: "fuzz-mcp-user@example.com" })).token;
  adminToken = (await mintAccessToken(prisma, server.env.APP_URL, { email: "fuzz-admin-mcp@example.com", role: "ADMIN", scope: "mcp:tools mcp:admin" })).token;
  routes = [...Object.values(remixCases()).flat(), ...(await hostCases())];
}, 60_000);

// ---------------------------------------------------------------------------------------------------------------
// One request

/**
 * Where the hostile value goes: a parameter (a dotted path into a JSON body or tRPC input: `params.arguments.clientId`;
 * `repeat` sends it a second time, or as `[old, value]` in JSON), a path segment, a header, or a new parameter name.
 */
type Placement =
  | { where: "param"; name: string; repeat: boolean }
  | { where: "path" }
  | { where: "header"; name: string }
  | { where: "extra-param"; name: Hostile }
  | { where: "target-form"; form: TargetForm };

/** Request targets other than a plain path (RFC 9112 §3.2); the hostile value stays in the first parameter. */
type TargetForm = "absolute-foreign" | "absolute-own" | "protocol-relative" | "asterisk";

function reshapeTarget(target: string, form: TargetForm): string {
  switch (form) {
    case "absolute-foreign":
      return `http://evil.example${target}`;
    case "absolute-own":
      return `${server.url}${target}`;
    case "protocol-relative":
      return `/${target}`;
    case "asterisk":
      return "*";
  }
}

interface Shot {
  route: RouteCase;
  session: Session;
  placement: Placement;
  value: Hostile;
}

const HEADERS = ["authorization", "cookie", "origin", "content-type", "mcp-session-id", "mcp-protocol-version", "x-request-id", "user-agent", "x-forwarded-for", "last-event-id", "accept", "referer", "host"];

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Built {
  method: string;
  target: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

/** The parameters of a route: top-level names of a form or query, leaf paths of a JSON body or tRPC input. */
function parameterNames(route: RouteCase): string[] {
  const params = route.params();
  if (route.body !== "json" && !route.trpcInput) return Object.keys(params);
  const names: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === "object") {
      for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
    } else names.push(path);
  };
  walk(params, "");
  return names;
}

/** A copy of `params` with `value` at the dotted `path` (`[old, value]` when repeated). */
function setPath(params: Record<string, unknown>, path: string, value: unknown, repeat: boolean): Record<string, unknown> {
  const copy = structuredClone(params);
  const keys = path.split(".");
  let at = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    if (at[key] === null || typeof at[key] !== "object") at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  const last = keys.at(-1)!;
  at[last] = repeat && last in at ? [at[last], value] : value;
  return copy;
}

/** JSON text with `value` at `path`: strings go through JSON.stringify (escapes), bytes go in raw. */
function jsonWith(params: Record<string, unknown>, path: string | null, value: Hostile, repeat = false): Buffer {
  if (path === null) return Buffer.from(JSON.stringify(params));
  if (typeof value === "string") return Buffer.from(JSON.stringify(setPath(params, path, value, repeat)), "utf8");
  const [before, after] = JSON.stringify(setPath(params, path, MARK, repeat)).split(JSON.stringify(MARK));
  return Buffer.concat([Buffer.from(`${before}"`), Buffer.from(value), Buffer.from(`"${after ?? ""}`)]);
}

function buildRequest(shot: Shot): Built {
  const { route, session, placement, value } = shot;
  const params: Record<string, unknown> = route.params();
  if ("csrf" in params) params.csrf = session === "user" || session === "admin" ? csrf[session] : csrf.none;
  const headers: Record<string, string | string[]> = { ...route.headers?.() };
  const jar = session === "user" || session === "admin" ? jars[session] : session === "none" ? anon : null;
  headers.cookie = jar ? jar.header() : `__session=${headerValue(value)}; __csrf=${headerValue(value)}`;

  let path = route.path;
  const holes = path.match(/:[a-z]+/g) ?? [];
  for (const hole of holes) path = path.replace(hole, placement.where === "path" ? encodeComponent(value) : "x");
  if (placement.where === "path" && holes.length === 0) path = `${path}/${encodeComponent(value)}`;

  if (placement.where === "header") {
    const text = headerValue(value);
    const name = placement.name;
    if (name === "authorization") headers[name] = [`Bearer ${text}`, `Basic ${Buffer.from(text, "latin1").toString("base64")}`, text][text.length % 3]!;
    else if (name === "cookie") headers[name] = `__session=${text}`;
    else if (headers[name] !== undefined && text.length % 2 === 0) headers[name] = [String(headers[name]), text];
    else headers[name] = text;
  }

  const param = placement.where === "param" ? placement : placement.where === "target-form" ? { name: parameterNames(route)[0] ?? "q", repeat: false } : null;
  const extra = placement.where === "extra-param" ? placement.name : null;
  // Form and query pairs (tRPC queries carry their input as JSON in `input`).
  const pairsOf = (source: Record<string, unknown>, hostileName: string | null): Array<[Hostile, Hostile]> => {
    const pairs: Array<[Hostile, Hostile]> = Object.entries(source).map(([n, v]) => [n, typeof v === "string" ? v : JSON.stringify(v)]);
    if (hostileName !== null && param) {
      const index = pairs.findIndex(([n]) => n === hostileName);
      if (param.repeat || index < 0) pairs.push([hostileName, value]);
      else pairs[index] = [hostileName, value];
    }
    if (extra !== null) pairs.push([extra, "1"]);
    return pairs;
  };

  const query = route.query?.() ?? {};
  const inQuery = param !== null && param.name in query;
  let target = path;
  let queryPairs: Array<[Hostile, Hostile]>;
  if (route.method === "GET" && route.trpcInput) {
    queryPairs = [["input", new Uint8Array(jsonWith(params, param?.name ?? null, value, param?.repeat))]];
    if (extra !== null) queryPairs.push([extra, "1"]);
  } else if (route.method === "GET") {
    queryPairs = pairsOf(params, param?.name ?? null);
  } else {
    queryPairs = pairsOf(query, inQuery ? param!.name : null);
  }
  if (queryPairs.length) target = `${path}?${encodeForm(queryPairs)}`;
  if (placement.where === "target-form") target = reshapeTarget(target, placement.form);
  if (route.method === "GET") return { method: "GET", target, headers };

  let body: Buffer;
  if (route.body === "json") {
    const name = param && !inQuery ? param.name : extra !== null && typeof extra === "string" ? extra : null;
    body = extra !== null && typeof extra === "string" ? jsonWith(params, extra, "1") : jsonWith(params, name, value, param?.repeat);
    headers["content-type"] ??= "application/json";
  } else {
    body = Buffer.from(encodeForm(pairsOf(params, param && !inQuery ? param.name : null)), "latin1");
    headers["content-type"] ??= "application/x-www-form-urlencoded";
  }
  return { method: "POST", target, headers, body };
}

function send(built: Built): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: server.port, method: built.method, path: built.target, headers: built.headers, agent, timeout: 15_000 },
      (res) => {
        const streaming = /event-stream/.test(String(res.headers["content-type"] ?? ""));
        if (streaming) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, body: "" });
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 15 s")));
    req.on("error", reject);
    req.end(built.body);
  });
}

function describeShot(shot: Shot, built: Built): string {
  const value = typeof shot.value === "string" ? JSON.stringify(shot.value.length > 80 ? `${shot.value.slice(0, 80)}… (${shot.value.length})` : shot.value) : `bytes ${Buffer.from(shot.value).toString("hex")}`;
  return `${shot.route.name} [${shot.session}] ${JSON.stringify(shot.placement)} value=${value}\n  ${built.method} ${built.target.slice(0, 300)}\n  body: ${built.body?.toString("latin1").slice(0, 300) ?? ""}`;
}

// ---------------------------------------------------------------------------------------------------------------

/** A failure's description, or null when the answer is fine: no 5xx, no cut connection, no error log, no stack. */
async function fire(shot: Shot): Promise<string | null> {
  const built = buildRequest(shot);
  const before = errorLines.length;
  let answer: { status: number; body: string };
  try {
    answer = await send(built);
  } catch (error) {
    return `${describeShot(shot, built)}\n  -> ${(error as Error).message}`;
  }
  const logged = errorLines.slice(before);
  if (answer.status >= 500 || logged.length > 0 || /\n\s+at .*\.(ts|js):\d+/.test(answer.body)) {
    return `${describeShot(shot, built)}\n  -> ${answer.status} ${answer.body.slice(0, 200)}\n  log: ${logged.join("\n")}`;
  }
  return null;
}

/** The most privileged session a route takes (its deepest code). */
function deepestSession(route: RouteCase): Session {
  const sessions = route.sessions ?? ["admin"];
  return sessions.includes("admin") ? "admin" : sessions[0]!;
}


describe("Hostile input at every route and parameter (issue 13)", () => {
  it("covers every route of the app: Remix routes, tRPC procedures, MCP tools, host routes", () => {
    const cases = remixCases();
    expect(Object.keys(cases).sort()).toEqual(remixPatterns(build.routes));
    for (const prefix of ["/.well-known/", "/api/oauth/", "/oauth/authorize", "/login", "/api/auth/", "/mcp/", "/api/trpc/", "/admin", "/account", "/api/analytics", "/api/health", "/metrics"]) {
      expect(routes.some((r) => r.path.startsWith(prefix)), prefix).toBe(true);
    }
    expect(routes.filter((r) => r.path.startsWith("/api/trpc/")).length).toBeGreaterThan(15);
    expect(routes.filter((r) => r.name.includes("tools/call")).length).toBeGreaterThan(4);
  });

  it("sweep: every parameter of every route with NUL, a lone surrogate, invalid UTF-8 and an over-long value", async () => {
    const shots: Shot[] = routes.flatMap((route) =>
      [...parameterNames(route), null].flatMap((name) =>
        CORE.map((value): Shot => ({
          route,
          session: deepestSession(route),
          placement: name === null ? { where: "path" } : { where: "param", name, repeat: false },
          value,
        })),
      ),
    );
    const failures: string[] = [];
    // Four at a time (the agent's sockets): bounded, and quick enough for `npm test`.
    for (let i = 0; i < shots.length; i += 4) {
      for (const failure of await Promise.all(shots.slice(i, i + 4).map(fire))) if (failure) failures.push(failure);
    }
    expect(shots.length).toBeGreaterThan(500);
    expect(failures.slice(0, 10).join("\n\n")).toBe("");
  }, 180_000);

  it(`property: never a 5xx, a cut connection or an error log (${RUNS} runs, at most ${SECONDS} s)`, async () => {
    // Routes by path first, so a path with many cases (MCP tools) does not crowd out the rest.
    const groups = new Map<string, RouteCase[]>();
    for (const route of routes) groups.set(route.path, [...(groups.get(route.path) ?? []), route]);
    const byPath = [...groups.values()];
    const shot: fc.Arbitrary<Shot> = fc
      .constantFrom(...byPath)
      .chain((group) => fc.constantFrom(...group))
      .chain((route) => {
        const names = parameterNames(route);
        return fc.record({
          route: fc.constant(route),
          session: fc.constantFrom<Session>(...(route.sessions ?? ["none", "user", "admin", "hostile"])),
          placement: fc.oneof<fc.WeightedArbitrary<Placement>[]>(
            { weight: 6, arbitrary: fc.record({ where: fc.constant("param" as const), name: fc.constantFrom(...names, "q"), repeat: fc.boolean() }) },
            { weight: 1, arbitrary: fc.constant({ where: "path" as const }) },
            { weight: 2, arbitrary: fc.record({ where: fc.constant("header" as const), name: fc.constantFrom(...HEADERS) }) },
            { weight: 1, arbitrary: fc.record({ where: fc.constant("extra-param" as const), name: hostile }) },
            {
              weight: 1,
              arbitrary: fc.record({
                where: fc.constant("target-form" as const),
                form: fc.constantFrom<TargetForm>("absolute-foreign", "absolute-own", "protocol-relative", "asterisk"),
              }),
            },
          ),
          value: hostile,
        });
      });
    let failure: string | null = null;
    await fc
      .assert(
        fc.asyncProperty(shot, async (s) => {
          const found = await fire(s);
          if (found) failure = found;
          return found === null;
        }),
        {
          numRuns: RUNS,
          interruptAfterTimeLimit: SECONDS * 1000,
          markInterruptAsFailure: false,
          ...(process.env.HOSTILE_SEED ? { seed: Number(process.env.HOSTILE_SEED) } : {}),
        },
      )
      .catch((error: unknown) => {
        // fast-check's message names the seed and the shrunk counterexample; the last failure is that request.
        throw new Error(`${(error as Error).message.split("\n").slice(0, 3).join("\n")}\n\n${failure ?? ""}`);
      });
  }, (SECONDS + 60) * 1000);
});
