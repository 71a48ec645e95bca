/**
 * `mcp-oauth-server clients …` and `idp …` (the bin, as an operator scripts it) against a running server's
 * database: create a machine client → get a token → `doctor --client-credentials` passes every step through a tool
 * call; a private_key_jwt client from a JWKS file; list/show/disable/delete; trusted identity providers; and errors
 * as one line on stderr with a non-zero exit, `--json` as one JSON document on stdout.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../helpers/consent-browser.ts";
import { redisTestPrefix, TEST_REDIS_URL } from "../helpers/mcp.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { basic, mcpStatus, tokenRequest } from "../integration/oauth-support.ts";

const BIN = path.resolve("bin/mcp-oauth-server.js");
let server: TestServer;
let env: Record<string, string | undefined>;
const dir = mkdtempSync(path.join(os.tmpdir(), "cli-admin-"));

beforeAll(async () => {
  const redis = { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: redisTestPrefix("cli-admin") };
  server = await startTestServer({ RATE_LIMIT_ENABLED: "false", ...redis });
  // The operator's environment: the server's database and Redis, nothing else of the test runner's.
  env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "test", DATABASE_URL: server.database.url, LOG_LEVEL: "silent", ...redis };
});

async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  const result = await run(process.execPath, [BIN, ...args], { env: { ...env, ...extraEnv }, cwd: dir, timeoutMs: 60_000 });
  return { code: result.code, stdout: result.stdout, stderr: result.stderr, json: () => JSON.parse(result.stdout) };
}

describe("mcp-oauth-server clients", () => {
  it("clients create → client_credentials token → doctor --client-credentials passes through a tool call", { timeout: 120_000 }, async () => {
    const created = await cli(["clients", "create", "--name", "Nightly CI", "--grant-types", "client_credentials", "--scope", "mcp:tools", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const client = created.json();
    expect(client).toMatchObject({ client_name: "Nightly CI", grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic", scope: "mcp:tools" });
    expect(client.client_secret).toEqual(expect.any(String));
    expect(created.stdout.trim().split("\n")).toHaveLength(1);

    const token = await tokenRequest(server.url, { grant_type: "client_credentials" }, { headers: { authorization: basic(client.client_id, client.client_secret) } });
    expect(token.status).toBe(200);
    expect(await mcpStatus(server.url, token.body.access_token as string)).toBe(200);

    const doctor = await cli(["doctor", `${server.url}/mcp/mcp`, "--client-credentials", "--json"], { MCP_CLIENT_ID: client.client_id, MCP_CLIENT_SECRET: client.client_secret });
    const report = JSON.parse(doctor.stdout) as { ok: boolean; steps: Array<{ id: string; status: string }> };
    expect(report.steps.filter((s) => s.status === "fail")).toEqual([]);
    expect(report.steps.filter((s) => s.status === "pass").map((s) => s.id)).toEqual(expect.arrayContaining(["token", "mcp-tools-list", "mcp-tools-call"]));
    expect(doctor.code).toBe(0);

    // The secret is shown once: `show` never prints it, and the database holds only its digest.
    const shown = await cli(["clients", "show", client.client_id, "--json"]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).not.toContain(client.client_secret);
    expect(shown.json()).toMatchObject({ client_id: client.client_id, disabled: false, dpop_bound_access_tokens: false });

    // DPoP policy (RFC 9449 §5.2): required → a token request without a proof is refused; optional again → served.
    expect((await cli(["clients", "dpop", client.client_id, "required"])).code).toBe(0);
    const withoutProof = await tokenRequest(server.url, { grant_type: "client_credentials" }, { headers: { authorization: basic(client.client_id, client.client_secret) } });
    expect([withoutProof.status, withoutProof.body.error]).toEqual([400, "invalid_dpop_proof"]);
    expect((await cli(["clients", "dpop", client.client_id, "optional", "--json"])).json()).toMatchObject({ dpop_bound_access_tokens: false });
    expect((await cli(["clients", "dpop", client.client_id, "sometimes"])).code).toBe(2);

    // The token is in the server's verified-token cache now; the CLI's revocation reaches it through Redis.
    expect(await mcpStatus(server.url, token.body.access_token as string)).toBe(200);
    const disabled = await cli(["clients", "disable", client.client_id]);
    expect(disabled.code).toBe(0);
    expect(await mcpStatus(server.url, token.body.access_token as string)).toBe(401);
    const refused = await tokenRequest(server.url, { grant_type: "client_credentials" }, { headers: { authorization: basic(client.client_id, client.client_secret) } });
    expect(refused.status).toBe(401);
    const failing = await cli(["doctor", `${server.url}/mcp/mcp`, "--client-credentials", "--client-id", client.client_id, "--client-secret", client.client_secret, "--json"]);
    expect(failing.code).toBe(1);

    const deleted = await cli(["clients", "delete", client.client_id, "--json"]);
    expect(deleted.json()).toMatchObject({ deleted: true });
    expect(await server.services.prisma.client.count({ where: { clientId: client.client_id } })).toBe(0);
  });

  it("clients create with private_key_jwt and a JWKS file; clients list", { timeout: 120_000 }, async () => {
    const { publicKey } = await generateKeyPair("ES256");
    const file = path.join(dir, "jwks.json");
    writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "ci-1" }] }));
    const created = await cli(["clients", "create", "--name", "Agent", "--grant-types", "client_credentials", "--auth-method", "private_key_jwt", "--jwks", file, "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const client = created.json();
    expect(client.token_endpoint_auth_method).toBe("private_key_jwt");
    expect(client.client_secret).toBeUndefined();
    const listed = await cli(["clients", "list", "--json"]);
    expect(listed.json()).toEqual(expect.arrayContaining([expect.objectContaining({ client_id: client.client_id, type: "confidential" })]));
    const text = await cli(["clients", "list"]);
    expect(text.stdout).toContain(client.client_id);
  });

  it("errors are one line on stderr with a non-zero exit", { timeout: 120_000 }, async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [["clients", "show", "no-such-client"], 1, /no client no-such-client/],
      [["clients", "create", "--grant-types", "client_credentials"], 2, /--name/],
      [["clients", "create", "--name", "x", "--grant-types", "authorization_code"], 1, /unsupported grant type/],
      [["clients", "create", "--name", "x", "--grant-types", "client_credentials", "--auth-method", "private_key_jwt"], 1, /JWKS URI/],
      [["clients", "create", "--name", "x", "--grant-types", "client_credentials", "--jwks", "/nonexistent.json"], 2, /cannot read/],
      [["clients", "frobnicate"], 2, /subcommand/],
      [["clients", "list", "--bogus"], 2, /bogus/],
      [["idp", "add", "--issuer", "https://idp.example"], 2, /--jwks-uri/],
      [["idp", "add", "--issuer", "ftp://idp.example", "--jwks-uri", "https://idp.example/jwks"], 1, /https/],
      [["idp", "remove", "https://nobody.example"], 1, /No such identity provider/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, [args, code, message]] of cases.entries()) {
      const result = results[i];
      expect(result.code, args.join(" ")).toBe(code);
      expect(result.stderr.trim().split("\n"), args.join(" ")).toHaveLength(1);
      expect(result.stderr, args.join(" ")).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe("mcp-oauth-server idp", () => {
  it("idp add → list → remove", { timeout: 120_000 }, async () => {
    const added = await cli(["idp", "add", "--issuer", "https://login.corp.example", "--jwks-uri", "https://login.corp.example/keys", "--allow-new-users", "--json"]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toMatchObject({ issuer: "https://login.corp.example", jwks_uri: "https://login.corp.example/keys", allow_new_users: true });
    const again = await cli(["idp", "add", "--issuer", "https://login.corp.example", "--jwks-uri", "https://login.corp.example/keys"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    const listed = await cli(["idp", "list", "--json"]);
    expect(listed.json()).toEqual([expect.objectContaining({ issuer: "https://login.corp.example", disabled: false })]);
    const removed = await cli(["idp", "remove", "https://login.corp.example", "--json"]);
    expect(removed.json()).toMatchObject({ issuer: "https://login.corp.example", removed: true });
    expect((await cli(["idp", "list", "--json"])).json()).toEqual([]);
  });
});
