import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../../server/oauth/errors.ts";
import { errorResponse, isDatabaseUnavailable, jsonResponse, toOAuthError } from "../../server/oauth/respond.ts";
import { bodyParams, queryParams } from "../../server/oauth/request-params.ts";
import { openSuccessor, sealSuccessor } from "../../server/oauth/successor-box.ts";

describe("Error responses, RFC 6749 §5.2", () => {
  it("JSON body with error and error_description, no-store, the error's status", async () => {
    const res = errorResponse(new OAuthError("invalid_grant", "the code is invalid", { reason: "internal detail" }), "https://as.example");
    expect(res.status).toBe(400);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toEqual({ error: "invalid_grant", error_description: "the code is invalid" });
    expect(JSON.stringify(body)).not.toContain("internal detail");
  });

  it("invalid_client after HTTP Basic: 401 with WWW-Authenticate: Basic", () => {
    const res = errorResponse(new OAuthError("invalid_client", "bad", { basicAuth: true }), "https://as.example");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="https:\/\/as.example"/);
    expect(errorResponse(new OAuthError("invalid_client", "bad"), "x").headers.get("www-authenticate")).toBeNull();
  });

  it("unknown errors become server_error without a word about the cause", async () => {
    const error = toOAuthError(new TypeError("Cannot read properties of undefined (reading 'secretHash') at /app/server/x.ts:12"));
    expect(error.error).toBe("server_error");
    expect(error.status).toBe(500);
    const text = await errorResponse(error, "x").text();
    expect(text).not.toMatch(/secretHash|\/app\/server|TypeError/);
  });

  it("an unreachable database becomes server_error with 503 and Retry-After", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    const wrapped = new Error("driver failed", { cause: refused });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
    const error = toOAuthError(wrapped);
    expect(error).toMatchObject({ error: "server_error", status: 503 });
    expect(errorResponse(error, "x").headers.get("retry-after")).toBe("5");
    expect(isDatabaseUnavailable(new Error("unique constraint"))).toBe(false);
  });

  it("success responses are no-store too (RFC 6749 §5.1)", () => {
    expect(jsonResponse({ ok: true }).headers.get("cache-control")).toBe("no-store");
  });
});

describe("Request parameters, RFC 6749 §3.1-3.2 (no repeats, body only) and RFC 8707 (resource may repeat)", () => {
  const post = (body: string, contentType = "application/x-www-form-urlencoded", url = "https://as.example/token") =>
    new Request(url, { method: "POST", headers: { "content-type": contentType }, body });

  async function error(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (e) {
      expect(e).toBeInstanceOf(OAuthError);
      return `${(e as OAuthError).status} ${(e as OAuthError).error}`;
    }
    return "ok";
  }

  it("reads form bodies and JSON objects of strings", async () => {
    expect((await bodyParams(post("grant_type=authorization_code&code=x"))).get("code")).toBe("x");
    expect((await bodyParams(post('{"grant_type":"refresh_token","refresh_token":"r"}', "application/json"))).get("refresh_token")).toBe("r");
    expect((await bodyParams(post("a=1", "application/x-www-form-urlencoded; charset=UTF-8"))).get("a")).toBe("1");
  });

  it("refuses repeated parameters but allows repeated resource", async () => {
    expect(await error(bodyParams(post("code=a&code=b")))).toBe("400 invalid_request");
    const params = await bodyParams(post("resource=a&resource=b"));
    expect(params.getAll("resource")).toEqual(["a", "b"]);
    expect(() => queryParams(new URL("https://as.example/authorize?state=a&state=b"))).toThrow(/must not be repeated/);
  });

  it("refuses query-string parameters on POST endpoints (tokens never in URLs)", async () => {
    expect(await error(bodyParams(post("grant_type=x", undefined, "https://as.example/token?code=abc")))).toBe("400 invalid_request");
  });

  it("refuses other content types, malformed JSON, non-objects, nested values", async () => {
    expect(await error(bodyParams(post("x", "text/plain")))).toBe("415 invalid_request");
    expect(await error(bodyParams(post("x", "multipart/form-data; boundary=x")))).toBe("415 invalid_request");
    expect(await error(bodyParams(post("{", "application/json")))).toBe("400 invalid_request");
    expect(await error(bodyParams(post("[1]", "application/json")))).toBe("400 invalid_request");
    expect(await error(bodyParams(post('{"code":{"$ne":1}}', "application/json")))).toBe("400 invalid_request");
    expect(await error(bodyParams(new Request("https://as.example/token")))).toBe("405 invalid_request");
  });

  it("refuses oversize bodies and values", async () => {
    expect(await error(bodyParams(post("a=" + "x".repeat(20_000))))).toBe("413 invalid_request");
    expect(await error(bodyParams(post("a=" + "x".repeat(5_000))))).toBe("400 invalid_request");
    expect(await error(bodyParams(post(Array.from({ length: 60 }, (_, i) => `p${i}=1`).join("&"))))).toBe("400 invalid_request");
  });

  it("treats empty values as absent (RFC 6749 §3.1)", async () => {
    const params = await bodyParams(post("code=&state=s"));
    expect(params.get("code")).toBeUndefined();
    expect(() => params.require("code")).toThrow(/code is required/);
  });
});

describe("Refresh successor box (AES-256-GCM under an HKDF key from the old token)", () => {
  it("opens with the old token only", () => {
    const old = "mcprt_" + randomBytes(32).toString("base64url");
    const box = sealSuccessor(old, { access_token: "mcpat_x", refresh_token: "mcprt_y" });
    expect(box).not.toContain("mcpat_x");
    expect(openSuccessor(old, box)).toEqual({ access_token: "mcpat_x", refresh_token: "mcprt_y" });
    expect(openSuccessor(old + "x", box)).toBeNull();
    expect(openSuccessor("mcprt_" + randomBytes(32).toString("base64url"), box)).toBeNull();
  });

  it("detects tampering", () => {
    const old = "mcprt_" + randomBytes(32).toString("base64url");
    const parts = sealSuccessor(old, { a: 1 }).split(".");
    const flipped = Buffer.from(parts[2], "base64url");
    flipped[0] ^= 1;
    parts[2] = flipped.toString("base64url");
    expect(openSuccessor(old, parts.join("."))).toBeNull();
    expect(openSuccessor(old, "garbage")).toBeNull();
  });
});
