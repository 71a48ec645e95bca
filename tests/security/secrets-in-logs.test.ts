/**
 * OWASP ASVS 5.0 V16.2 / checklist "No token, code, secret or cookie in logs": a server whose pino output (at the
 * most verbose level) and console are captured goes through every OAuth endpoint, the happy paths and the error
 * paths that tend to log their input (bad secrets, code and refresh-token reuse, PKCE failures, tokens in query
 * strings), then every token, code, verifier, secret and cookie value it handed out is searched for in what was
 * written.
 */
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../server/logger.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  basic,
  type CookieJar,
  obtainCode,
  publicClient,
  register,
  REDIRECT,
  signIn,
  tokenRequest,
  type RegisteredClient,
} from "../integration/oauth-support.ts";

const written: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    written.push(String(chunk));
    done();
  },
});

let server: TestServer;
const consoleCalls: string[] = [];
const secrets = new Map<string, string>();

function keep(label: string, value: unknown): string {
  expect(typeof value, label).toBe("string");
  secrets.set(label, value as string);
  return value as string;
}

beforeAll(async () => {
  for (const method of ["log", "info", "warn", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      consoleCalls.push(args.map(String).join(" "));
    });
  }
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", LOG_LEVEL: "trace" }, { log: createLogger("trace", { destination: sink }) });
});

afterAll(() => {
  vi.restoreAllMocks();
});

async function post(path: string, body: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(body),
  });
  return { status: res.status, text: await res.text() };
}

describe("Secrets never reach the logs (OWASP ASVS 5.0 V16.2.5, RFC 9700 §4.14)", () => {
  it("no token, code, verifier, client secret or cookie issued during a full flow and its error paths appears in the log output", async () => {
    const jar: CookieJar = await signIn(server.url, "logs@example.com");
    keep("session cookie", /__session=([^;]+)/.exec(jar.header())?.[1]);
    keep("csrf cookie", /__csrf=([^;]+)/.exec(jar.header())?.[1]);

    // A confidential client: its secret, used right and wrong.
    const confidential: RegisteredClient = await register(server.url, publicClient({ token_endpoint_auth_method: "client_secret_basic" }));
    const secret = keep("client secret", confidential.client_secret);
    const c = await obtainCode(server.url, jar, confidential.client_id);
    keep("code (confidential)", c.code);
    keep("verifier (confidential)", c.verifier);
    const wrongSecret = await tokenRequest(
      server.url,
      { grant_type: "authorization_code", code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT },
      { headers: { authorization: basic(confidential.client_id, secret + "x") } },
    );
    expect(wrongSecret.status).toBe(401);
    const bodySecret = await tokenRequest(server.url, {
      grant_type: "authorization_code",
      code: c.code,
      code_verifier: c.verifier,
      redirect_uri: REDIRECT,
      client_id: confidential.client_id,
      client_secret: secret,
    });
    expect(bodySecret.status).toBe(401);
    const confidentialTokens = await tokenRequest(
      server.url,
      { grant_type: "authorization_code", code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT },
      { headers: { authorization: basic(confidential.client_id, secret) } },
    );
    expect(confidentialTokens.status).toBe(200);
    const confidentialAccess = keep("access token (confidential)", confidentialTokens.body.access_token);
    keep("refresh token (confidential)", confidentialTokens.body.refresh_token);
    // Introspection by the confidential client, and a second redemption of its code (CODE_REUSE).
    expect((await post("/api/oauth/introspect", { token: confidentialAccess }, { authorization: basic(confidential.client_id, secret) })).status).toBe(200);
    const reuse = await tokenRequest(
      server.url,
      { grant_type: "authorization_code", code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT },
      { headers: { authorization: basic(confidential.client_id, secret) } },
    );
    expect(reuse.body.error).toBe("invalid_grant");

    // A public client: wrong verifier, then the real exchange, refresh, refresh-token reuse, revocation.
    const client = await register(server.url, publicClient());
    const p = await obtainCode(server.url, jar, client.client_id);
    keep("code (public)", p.code);
    keep("verifier (public)", p.verifier);
    const wrongVerifier = await tokenRequest(server.url, {
      grant_type: "authorization_code",
      code: p.code,
      code_verifier: p.verifier.slice(0, -1) + (p.verifier.endsWith("A") ? "B" : "A"),
      client_id: client.client_id,
      redirect_uri: REDIRECT,
    });
    expect(wrongVerifier.body.error).toBe("invalid_grant");
    const tokens = await tokenRequest(server.url, { grant_type: "authorization_code", code: p.code, code_verifier: p.verifier, client_id: client.client_id, redirect_uri: REDIRECT });
    expect(tokens.status).toBe(200);
    const access = keep("access token (public)", tokens.body.access_token);
    const refresh = keep("refresh token (public)", tokens.body.refresh_token);
    const rotated = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: client.client_id });
    expect(rotated.status).toBe(200);
    keep("access token (rotated)", rotated.body.access_token);
    const successor = keep("refresh token (rotated)", rotated.body.refresh_token);
    const reused = await tokenRequest(server.url, { grant_type: "refresh_token", refresh_token: refresh, client_id: client.client_id });
    expect(reused.body.error).toBe("invalid_grant");

    // The MCP endpoint with the token in the header, in the query string, and after revocation.
    const mcp = (query: string, authorization?: string) =>
      fetch(`${server.url}/mcp/mcp${query}`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
      }).then(async (r) => (await r.text(), r.status));
    expect(await mcp(`?access_token=${access}`)).toBe(400);
    expect(await mcp("", `Bearer ${access}x`)).toBe(401);
    expect((await post("/api/oauth/revoke", { token: successor, client_id: client.client_id })).status).toBe(200);

    // Credentials where they do not belong: in the query string of an OAuth endpoint.
    expect((await post(`/api/oauth/token?code=${p.code}&client_secret=${secret}`, { grant_type: "authorization_code" })).status).toBe(400);
    await fetch(`${server.url}/oauth/authorize?client_id=${client.client_id}&code=${p.code}&state=${access}`, { headers: { cookie: jar.header() }, redirect: "manual" }).then((r) => r.text());

    expect(written.join("").length).toBeGreaterThan(1000);
    expect(leakedInto(output())).toEqual([]);
  });

  // Remix's router warns `No routes matched location "<path>?<query>"` on the console for every unmatched URL,
  // query string included; the host (server/http/app.ts) hands unmatched paths to Remix without their query string.
  it("a token or code in the query string of an unknown path is not written to the console", async () => {
    const before = consoleCalls.length;
    const code = `mcpac_${"C".repeat(43)}`;
    const token = `mcpat_${"T".repeat(43)}`;
    await fetch(`${server.url}/oauth/callback-nobody-serves?code=${code}&access_token=${token}`).then((r) => r.text());
    await fetch(`${server.url}/api/oauth/nowhere?refresh_token=${token}`, { method: "POST" }).then((r) => r.text());
    const printed = consoleCalls.slice(before).join("\n");
    expect(printed).not.toContain(code);
    expect(printed).not.toContain(token);
  });
});

function output(): string {
  return written.join("") + "\n" + consoleCalls.join("\n");
}

/** The labels of the secrets that appear in `text`. */
function leakedInto(text: string): string[] {
  return [...secrets].filter(([, value]) => text.includes(value)).map(([label]) => label);
}
