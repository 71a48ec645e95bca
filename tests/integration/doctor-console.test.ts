/**
 * The console's connection doctor (issue 17): each common cause of "my client can't connect" is provoked against
 * the real server by a stand-in client from its own address, and the doctor — reading only the stored analytics
 * rows and security events — names that cause, with the fix and the facts the rows hold: a misconfigured APP_URL
 * (resource mismatch, RFC 9728 §3.3 / RFC 8707 §2), a proxy that drops WWW-Authenticate and /.well-known (RFC 9728
 * §5.1), a token for another audience (RFC 8707), an unregistered redirect URI (RFC 6749 §4.1.2.1), an Origin
 * refusal (MCP transports, DNS rebinding), a rate limit, a refresh token replayed from two addresses (RFC 9700
 * §4.14.2), and a client_id that is not registered. No token, code or secret appears in what the doctor returns.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { AppCaller } from "../../server/trpc/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { REDIRECT } from "./oauth-support.ts";
import { adminCaller, clientRowId, DOCTOR_ADMIN, provoke, recorded, StandInClient } from "./doctor-support.ts";

let server: TestServer;
let admin: AppCaller;
/** Every token and code handed out in this file: none may appear in the doctor's answers. */
const secrets: string[] = [];

beforeAll(async () => {
  server = await startTestServer({
    TRUST_PROXY: "true",
    AUTH_DEV_LOGIN: "true",
    ADMIN_EMAILS: DOCTOR_ADMIN,
    RATE_LIMIT_MCP_PER_IP: "4",
  });
  admin = await adminCaller(server);
});

type Diagnosis = Awaited<ReturnType<AppCaller["doctor"]["client"]>>["diagnosis"];

function causesOf(diagnosis: Diagnosis): string[] {
  return diagnosis.causes.map((c) => c.causeId);
}

function findingOf(diagnosis: Diagnosis, causeId: string) {
  const found = diagnosis.causes.find((c) => c.causeId === causeId);
  expect(found, `causes found: ${causesOf(diagnosis).join(", ")}`).toBeDefined();
  return found!;
}

function stepsOf(diagnosis: Diagnosis) {
  return diagnosis.attempts.flatMap((a) => a.steps);
}

function expectNoSecrets(value: unknown): void {
  const json = JSON.stringify(value);
  for (const secret of secrets) expect(json).not.toContain(secret);
  expect(json).not.toMatch(/mcp_(at|rt|code)_/i);
}

async function clientDoctor(client: StandInClient): Promise<Diagnosis> {
  await recorded(server);
  const { diagnosis } = await admin.doctor.client({ id: await clientRowId(server, client.clientId), window: "1h" });
  expectNoSecrets(diagnosis);
  return diagnosis;
}

async function addressDoctor(ip: string): Promise<Diagnosis> {
  await recorded(server);
  const { diagnosis } = await admin.doctor.caller({ ip, window: "1h" });
  expectNoSecrets(diagnosis);
  return diagnosis;
}

describe("Connection doctor: a client that connects", () => {
  it("shows the steps in order, all passed, and no cause", async () => {
    const client = new StandInClient(server, "healthy");
    expect((await client.mcp()).status).toBe(401);
    await client.discover();
    const tokens = await client.connect("healthy@example.com");
    secrets.push(tokens.access_token, tokens.refresh_token);
    expect((await client.mcp(tokens.access_token)).status).toBe(200);
    const diagnosis = await clientDoctor(client);
    expect(causesOf(diagnosis)).toEqual([]);
    const kinds = stepsOf(diagnosis).map((s) => s.kind);
    expect(kinds).toEqual(["mcp_challenge", "discovery", "discovery", "registration", "sign_in", "sign_in", "authorize", "consent", "token", "mcp"]);
    expect(diagnosis.attempts[0].outcome).toBe("connected");
    // Each step links to the request row behind it.
    for (const step of stepsOf(diagnosis)) expect(step.evidence[0]).toMatchObject({ kind: "request", id: expect.any(String) });
  });
});

describe("Connection doctor names the cause", () => {
  it("APP_URL differs from the address the client calls: resource_mismatch, with the host, the resource asked for and APP_URL", async () => {
    const { client, called } = await provoke.resourceMismatch(server);
    const diagnosis = await clientDoctor(client);
    const finding = findingOf(diagnosis, "resource_mismatch");
    expect(finding.fix).toMatch(/APP_URL/);
    // The cause gathers what each step showed: the host called (at the 401) and the resource asked for (at authorize).
    expect(finding.facts).toEqual([
      `The client called this server at host ${new URL(called).host} (/mcp/mcp).`,
      `APP_URL is ${server.env.APP_URL}.`,
      `The resource asked for: ${called}/mcp/mcp`,
      `APP_URL is ${server.env.APP_URL}; the resources served are under ${server.env.APP_URL}/mcp.`,
    ]);
    // The failing step links to its security event.
    const failing = stepsOf(diagnosis).find((s) => s.kind === "authorize" && s.finding?.causeId === "resource_mismatch");
    expect(failing?.evidence.map((e) => e.kind)).toEqual(["request", "security"]);
  });

  it("a proxy that strips WWW-Authenticate and does not forward /.well-known: discovery_not_reached", async () => {
    await provoke.proxyStripsChallenge(server, "198.51.100.7");
    const diagnosis = await addressDoctor("198.51.100.7");
    expect(causesOf(diagnosis)).toEqual(["discovery_not_reached"]);
    const finding = findingOf(diagnosis, "discovery_not_reached");
    expect(finding.cause).toMatch(/proxy/);
    expect(finding.fix).toMatch(/WWW-Authenticate/);
    expect(finding.fix).toMatch(/\.well-known/);
  });

  it("a token issued for another endpoint: wrong_audience, naming the token's audience", async () => {
    const { client, tokens } = await provoke.wrongAudience(server);
    secrets.push(...tokens);
    const diagnosis = await clientDoctor(client);
    expect(causesOf(diagnosis)).toEqual(["wrong_audience"]);
    const finding = findingOf(diagnosis, "wrong_audience");
    expect(finding.facts).toEqual([`The token was issued for ${server.env.APP_URL}/mcp/sse.`, `It was used at ${server.env.APP_URL}/mcp/mcp.`]);
    const step = stepsOf(diagnosis).find((s) => s.finding?.causeId === "wrong_audience")!;
    expect(step).toMatchObject({ kind: "mcp", status: "failed", httpStatus: 401, oauthError: "invalid_token" });
    expect(step.evidence.map((e) => e.kind)).toEqual(["request", "security"]);
    expect(diagnosis.attempts[0].outcome).toBe("failed");
  });

  it("a redirect URI the client did not register: redirect_uri_unregistered, with the URI asked for and the registered ones", async () => {
    const { client } = await provoke.unregisteredRedirect(server);
    const diagnosis = await clientDoctor(client);
    expect(causesOf(diagnosis)).toEqual(["redirect_uri_unregistered"]);
    expect(findingOf(diagnosis, "redirect_uri_unregistered").facts).toEqual([
      "The redirect_uri asked for: http://app.example/elsewhere",
      `Registered for this client: ${REDIRECT}`,
    ]);
  });

  it("a browser client's Origin that is not allowed: origin_refused, naming ALLOWED_ORIGINS and the Origin", async () => {
    const { client, tokens } = await provoke.originRefused(server);
    secrets.push(...tokens);
    const diagnosis = await clientDoctor(client);
    expect(causesOf(diagnosis)).toEqual(["origin_refused"]);
    const finding = findingOf(diagnosis, "origin_refused");
    expect(finding.fix).toMatch(/ALLOWED_ORIGINS/);
    expect(finding.facts).toEqual(["Origin refused: https://app.example (on /mcp/mcp).", "To allow it: ALLOWED_ORIGINS=https://app.example"]);
  });

  it("a shared address over the per-IP limit: rate_limited, naming the setting", async () => {
    const { client, tokens } = await provoke.rateLimited(server);
    secrets.push(...tokens);
    const diagnosis = await clientDoctor(client);
    expect(causesOf(diagnosis)).toEqual(["rate_limited"]);
    const finding = findingOf(diagnosis, "rate_limited");
    expect(finding.facts).toEqual(expect.arrayContaining(["Setting: RATE_LIMIT_MCP_PER_IP"]));
    expect(finding.fix).toMatch(/TRUSTED_IP_RANGES/);
  });

  it("a refresh token replayed from a second address: refresh_replayed, with both addresses", async () => {
    const { client, tokens } = await provoke.refreshReplayed(server, "192.0.2.99");
    secrets.push(...tokens);
    const diagnosis = await clientDoctor(client);
    expect(causesOf(diagnosis)).toEqual(["refresh_replayed"]);
    const facts = findingOf(diagnosis, "refresh_replayed").facts;
    expect(facts).toEqual(expect.arrayContaining([`The token endpoint was called for this client from 2 addresses in this window: ${client.ip}, 192.0.2.99.`]));
  });

  it("a client_id that is not registered (an expired registration): unknown_client, found by the client_id string", async () => {
    await provoke.unknownClient(server, "mcpc_forgotten_registration");
    await recorded(server);
    const { registered, diagnosis } = await admin.doctor.caller({ clientId: "mcpc_forgotten_registration", window: "1h" });
    expect(registered).toBeNull();
    expect(causesOf(diagnosis)).toEqual(["unknown_client"]);
    expect(findingOf(diagnosis, "unknown_client").facts).toEqual(["client_id presented: mcpc_forgotten_registration"]);
  });

  it("a Client ID Metadata Document the server cannot use: metadata_document_refused, with the reason", async () => {
    await provoke.metadataDocumentRefused(server, "https://127.0.0.1/doctor-client.json");
    await recorded(server);
    const { diagnosis } = await admin.doctor.caller({ clientId: "https://127.0.0.1/doctor-client.json", window: "1h" });
    expect(causesOf(diagnosis)).toEqual(["metadata_document_refused"]);
    const facts = findingOf(diagnosis, "metadata_document_refused").facts;
    expect(facts[0]).toBe("client_id: https://127.0.0.1/doctor-client.json");
    expect(facts[1]).toMatch(/^Why: client/);
  });

  it("the dashboard summary lists the clients that failed, grouped by cause", async () => {
    await recorded(server);
    const summary = await admin.doctor.failures({ range: "1h" });
    expectNoSecrets(summary);
    const byCause = new Map(summary.causes.map((c) => [c.causeId, c]));
    for (const cause of ["discovery_not_reached", "resource_mismatch", "wrong_audience", "redirect_uri_unregistered", "origin_refused", "rate_limited", "refresh_replayed", "unknown_client"]) {
      expect(byCause.has(cause as never), `${cause} in ${[...byCause.keys()].join(", ")}`).toBe(true);
    }
    const audience = byCause.get("wrong_audience")!;
    expect(audience.subjects).toEqual([expect.objectContaining({ kind: "client", name: "Doctor sse-token" })]);
    expect(byCause.get("unknown_client")!.subjects).toEqual([expect.objectContaining({ kind: "unknown_client", clientId: "mcpc_forgotten_registration" })]);
    // Refused before a token named the client (Origin, rate limit): counted as the one client seen at that address.
    expect(byCause.get("origin_refused")!.subjects).toEqual([expect.objectContaining({ kind: "client", name: "Doctor browser-app" })]);
    expect(byCause.get("rate_limited")!.subjects).toEqual([expect.objectContaining({ kind: "client", name: "Doctor busy-office" })]);
    expect(byCause.get("discovery_not_reached")!.subjects).toEqual([expect.objectContaining({ kind: "address", ipAddress: "198.51.100.7" })]);
    // A refusal a security event explains is not counted a second time under a generic cause.
    expect(byCause.has("authorization_error")).toBe(false);
  });

  it("a lookup submitted in the browser keeps its query (the page's single-fetch data request)", async () => {
    const { setCookie } = await server.services.auth.signIn({ email: DOCTOR_ADMIN, provider: "dev", providerAccountId: DOCTOR_ADMIN });
    const res = await fetch(`${server.url}/admin/doctor.data?ip=198.51.100.7&window=1h`, { headers: { cookie: setCookie.split(";")[0] } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain("discovery_not_reached");
  });
});

describe("Connection doctor: access", () => {
  it("refuses a person who is not an admin, on every procedure", async () => {
    const { setCookie } = await server.services.auth.signIn({ email: "plain@example.com", provider: "dev", providerAccountId: "plain@example.com" });
    const { createCaller } = await import("../../server/trpc/root.ts");
    const caller = await createCaller(server.services, new Request(`${server.env.APP_URL}/api/trpc`, { headers: { cookie: setCookie.split(";")[0] } }));
    await expect(caller.doctor.failures({ range: "1h" })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(caller.doctor.caller({ ip: "203.0.113.1", window: "1h" })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });
});
