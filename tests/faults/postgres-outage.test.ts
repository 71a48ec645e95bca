/**
 * Faults: PostgreSQL goes away (cut: connections reset; stall: a network partition) and comes back, behind a TCP
 * proxy (tests/helpers/tcp-proxy.ts). While it is gone every request answers within a bound — `/api/health`,
 * the token endpoint, the consent form and both MCP transports with a 503 and `Retry-After` (RFC 9110 §15.6.4),
 * never a 500 or a hang; a token already verified keeps working from the cache. Once it is back everything works
 * again without a restart, a code or refresh token whose exchange failed is still good, and no grant, token or
 * consent is half-written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminQuery, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";
import { INITIALIZE, MCP_ACCEPT, toolsCall } from "../helpers/mcp.ts";
import {
  authorizeUrl,
  browse,
  hiddenField,
  issueTokens,
  obtainCode,
  pkce,
  publicClient,
  REDIRECT,
  register,
  signIn,
  tokenRequest,
  type CookieJar,
  type RegisteredClient,
} from "../integration/oauth-support.ts";
import { eventually, expectNothingHalfWritten, expectUnavailable, timed, type Timed } from "./support.ts";

let database: TestDatabase;
let proxy: TcpProxy;
let server: TestServer;
let client: RegisteredClient;
let jar: CookieJar;

beforeAll(async () => {
  database = await createTestDatabase();
  const real = new URL(database.url);
  proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port || 5432) });
  server = await startTestServer(
    { DATABASE_URL: proxy.urlFor(database.url), RATE_LIMIT_ENABLED: "false", ADMIN_EMAILS: "outage@example.com" },
    { database },
  );
  client = await register(server.url, publicClient());
  jar = await signIn(server.url, "outage@example.com");
});

afterAll(async () => {
  await server?.close(1_000);
  await proxy?.close();
  await database?.drop();
});

const form = (params: Record<string, string>): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(params),
});

const mcp = (token: string, body: unknown): RequestInit => ({
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: MCP_ACCEPT },
  body: JSON.stringify(body),
});

async function healthy(): Promise<number> {
  const { ms } = await eventually("healthy", 10_000, async () => ((await timed(`${server.url}/api/health`)).status === 200 ? true : undefined));
  return ms;
}

/** Everything a client holds before the outage: tokens (one verified on MCP, so cached), a code, a consent form. */
async function prepare() {
  const cached = await issueTokens(server.url, jar, client);
  const fresh = await issueTokens(server.url, jar, client);
  expect((await timed(`${server.url}/mcp/mcp`, mcp(String(cached.access_token), INITIALIZE))).status).toBe(200);
  const code = await obtainCode(server.url, jar, client.client_id);
  // A client this person has not approved yet: the consent page shows, its form is submitted during the outage.
  const other = await register(server.url, publicClient({ client_name: "Needs Consent" }));
  const consentUrl = authorizeUrl(server.url, {
    response_type: "code",
    client_id: other.client_id,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
    state: "s",
  });
  const page = await browse(jar, consentUrl);
  expect(page.status).toBe(200);
  const csrf = hiddenField(await page.text(), "csrf");
  return { cached, fresh, code, consentUrl, csrf };
}

/** The requests of a client while the database is gone; each answer and how long it took. */
async function duringOutage(held: Awaited<ReturnType<typeof prepare>>): Promise<Record<string, Timed>> {
  const cookie = { cookie: jar.header() };
  const requests: Record<string, Promise<Timed>> = {
    health: timed(`${server.url}/api/health`),
    refresh: timed(`${server.url}/api/oauth/token`, form({ grant_type: "refresh_token", refresh_token: String(held.fresh.refresh_token), client_id: client.client_id })),
    code: timed(
      `${server.url}/api/oauth/token`,
      form({ grant_type: "authorization_code", code: held.code.code, code_verifier: held.code.verifier, client_id: client.client_id, redirect_uri: REDIRECT }),
    ),
    consent: timed(held.consentUrl, { ...form({ csrf: held.csrf, decision: "allow" }), headers: { ...cookie, "content-type": "application/x-www-form-urlencoded" } }),
    mcpUncached: timed(`${server.url}/mcp/mcp`, mcp(String(held.fresh.access_token), toolsCall("whoami"))),
    sseUncached: timed(`${server.url}/mcp/sse`, { headers: { authorization: `Bearer ${String(held.fresh.access_token)}`, accept: "text/event-stream" } }),
    mcpCachedWhoami: timed(`${server.url}/mcp/mcp`, mcp(String(held.cached.access_token), toolsCall("whoami"))),
    mcpCachedDatabaseTool: timed(`${server.url}/mcp/mcp`, mcp(String(held.cached.access_token), toolsCall("list_connected_apps"))),
    accountPage: timed(`${server.url}/account`, { headers: cookie }),
    adminPage: timed(`${server.url}/admin/clients`, { headers: cookie }),
    trpc: timed(`${server.url}/api/trpc/me.profile`, { headers: cookie }),
  };
  const entries = await Promise.all(Object.entries(requests).map(async ([name, p]) => [name, await p] as const));
  return Object.fromEntries(entries);
}

function expectCleanOutage(answers: Record<string, Timed>, boundMs: number): void {
  for (const name of ["health", "refresh", "code", "mcpUncached", "sseUncached"]) expectUnavailable(answers[name], name);
  expect(JSON.parse(answers.refresh.text)).toMatchObject({ error: "server_error" });
  expect(JSON.parse(answers.mcpUncached.text)).toMatchObject({ error: "server_error" });
  expect(answers.mcpUncached.headers.get("www-authenticate")).toBeNull();
  // The consent form: a local page (no redirect to the client), 503.
  expect(answers.consent.status).toBe(503);
  expect(answers.consent.headers.get("location")).toBeNull();
  expect(answers.consent.text).toContain("temporarily unavailable");
  // Console pages and their API: 503 (a page saying so; tRPC's SERVICE_UNAVAILABLE), never a 500.
  for (const name of ["accountPage", "adminPage"]) {
    expectUnavailable(answers[name], name);
    expect(answers[name].text, name).toContain("temporarily unavailable");
  }
  expectUnavailable(answers.trpc, "trpc");
  expect(JSON.parse(answers.trpc.text).error.data.code).toBe("SERVICE_UNAVAILABLE");
  // A token verified before the outage keeps working; a tool that needs the database says so in its result.
  expect(answers.mcpCachedWhoami.status).toBe(200);
  expect(JSON.parse(answers.mcpCachedWhoami.text).result.structuredContent.user.email).toBe("outage@example.com");
  expect(answers.mcpCachedDatabaseTool.status).toBe(200);
  expect(JSON.parse(answers.mcpCachedDatabaseTool.text).result).toMatchObject({
    isError: true,
    content: [{ type: "text", text: expect.stringContaining("temporarily unavailable") }],
  });
  for (const [name, answer] of Object.entries(answers)) expect(answer.ms, name).toBeLessThan(boundMs);
}

/**
 * After the outage. `late`: in a partition the statements already sent are held, not lost, and PostgreSQL runs them
 * when the network heals, after the client was told 503 (a client-side timeout cannot recall them). The rows they
 * write are whole (one statement each); only the client's answer was lost. A refresh token or code whose exchange
 * ran that way counts as used (retrying it is reuse: REFRESH_TOKEN_REUSE_GRACE_SECONDS is the remedy for refresh
 * tokens); with a cut nothing ran, and both must still be good.
 */
async function expectRecovered(held: Awaited<ReturnType<typeof prepare>>, answers: Record<string, Timed>, late: boolean): Promise<void> {
  await expectNothingHalfWritten(database.url);
  const used = await usedDuringOutage(held);
  if (late) console.info(`statements run late after the partition healed: ${JSON.stringify(used)}`);
  else expect(used).toEqual({ refresh: false, code: false });
  if (used.refresh || used.code) return;
  // The refresh token and the code whose exchange failed were not used up.
  const refreshed = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: String(held.fresh.refresh_token), client_id: client.client_id });
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  const exchanged = await tokenRequest(server.url, {
    grant_type: "authorization_code",
    code: held.code.code,
    code_verifier: held.code.verifier,
    client_id: client.client_id,
    redirect_uri: REDIRECT,
  });
  expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
  for (const token of [held.fresh.access_token, refreshed.body.access_token, exchanged.body.access_token]) {
    expect((await timed(`${server.url}/mcp/mcp`, mcp(String(token), toolsCall("list_connected_apps")))).status).toBe(200);
  }
  // The consent submitted during the outage: submitting it again works (the person is not stuck).
  const again = await browse(jar, held.consentUrl, { ...form({ csrf: held.csrf, decision: "allow" }) });
  expect(again.status).toBe(302);
  expect(new URL(again.headers.get("location")!).searchParams.get("code")).toBeTruthy();
  expect(answers.health.status).toBe(503);
  await expectNothingHalfWritten(database.url);
}

async function usedDuringOutage(held: Awaited<ReturnType<typeof prepare>>): Promise<{ refresh: boolean; code: boolean }> {
  const { sha256Hex } = await import("../../server/crypto.ts");
  const [refresh] = (await adminQuery(database.url, `SELECT "rotatedAt" FROM "RefreshToken" WHERE "tokenHash" = $1`, [sha256Hex(String(held.fresh.refresh_token))])).rows;
  const [code] = (await adminQuery(database.url, `SELECT "consumedAt" FROM "AuthorizationCode" WHERE "codeHash" = $1`, [sha256Hex(held.code.code)])).rows;
  return { refresh: refresh.rotatedAt !== null, code: code.consumedAt !== null };
}

/**
 * A client's state prepared, the pool warmed (connections the fault will break), the fault made, `rounds` rounds of
 * requests answered, the fault mended (always).
 */
async function throughOutage(makeFault: () => void, rounds: number) {
  const held = await prepare();
  await Promise.all([1, 2, 3].map(() => server.services.prisma.user.count()));
  makeFault();
  const answered: Array<Record<string, Timed>> = [];
  try {
    for (let i = 0; i < rounds; i++) answered.push(await duringOutage(held));
  } finally {
    proxy.restore();
  }
  return { held, answered };
}

describe("PostgreSQL cut (connections reset, new ones refused)", () => {
  it("answers 503 + Retry-After at once, keeps cached tokens working, and recovers without a restart", async () => {
    // A second round: the pool has no connection left and must not wait for one.
    const { held, answered } = await throughOutage(() => proxy.cut(), 2);
    // At once: nothing waits for more than the pool's connect timeout (2 s); the rest is margin for a busy machine.
    for (const answers of answered) expectCleanOutage(answers, 5_000);
    const ms = await healthy();
    console.info(`PostgreSQL cut: healthy again ${Math.round(ms)} ms after restore`);
    await expectRecovered(held, answered[0], false);
  });
});

describe("PostgreSQL stalled (a network partition: bytes held, nothing answers)", () => {
  it("answers every request within the pool's timeouts, never hangs, and recovers", async () => {
    const { held, answered } = await throughOutage(() => proxy.stall(), 1);
    const answers = answered[0];
    const slowest = Math.max(...Object.values(answers).map((a) => a.ms));
    console.info(`PostgreSQL stalled: slowest answer ${Math.round(slowest)} ms (${Object.entries(answers).map(([k, a]) => `${k} ${a.status} ${Math.round(a.ms)}`).join(", ")})`);
    expect(answers.health.ms).toBeLessThan(2_000);
    expectCleanOutage(answers, 20_000);
    const ms = await healthy();
    console.info(`PostgreSQL stalled: healthy again ${Math.round(ms)} ms after restore`);
    await expectRecovered(held, answers, true);
  });
});
