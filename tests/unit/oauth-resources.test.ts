import { describe, expect, it } from "vitest";
import { OAuthError } from "../../server/oauth/errors.ts";
import {
  audienceCovers,
  canonicalResource,
  defaultResource,
  protectedResourceMetadataUrl,
  resolveResource,
  resourceIdentifiers,
  serverResources,
} from "../../server/oauth/resources.ts";

const APP = "https://auth.example.com";
const IDS = resourceIdentifiers(APP);

function targetError(fn: () => unknown): OAuthError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OAuthError);
    expect((error as OAuthError).error).toBe("invalid_target");
    return error as OAuthError;
  }
  throw new Error("expected invalid_target");
}

describe("Resource canonicalisation, RFC 8707 §2 / RFC 3986 §6.2", () => {
  it.each([
    ["https://auth.example.com/mcp", "https://auth.example.com/mcp"],
    ["HTTPS://AUTH.EXAMPLE.COM/mcp", "https://auth.example.com/mcp"],
    ["https://auth.example.com:443/mcp", "https://auth.example.com/mcp"],
    ["http://localhost:80/mcp", "http://localhost/mcp"],
    ["http://localhost:3000/mcp/", "http://localhost:3000/mcp"],
    ["https://auth.example.com/mcp//", "https://auth.example.com/mcp"],
    ["https://auth.example.com/a/../mcp", "https://auth.example.com/mcp"],
    ["https://auth.example.com/%6Dcp", "https://auth.example.com/%6Dcp"],
    ["https://auth.example.com", "https://auth.example.com"],
    ["https://auth.example.com/", "https://auth.example.com"],
  ])("%s -> %s", (input, canonical) => {
    expect(canonicalResource(input)).toBe(canonical);
  });

  it.each(["https://auth.example.com/mcp#frag", "/mcp", "mcp", "urn:example:mcp", "ftp://auth.example.com/mcp", "https://u:p@auth.example.com/mcp", ""])(
    "refuses %s (not an absolute http(s) URI without fragment)",
    (input) => {
      expect(canonicalResource(input)).toBeNull();
    },
  );
});

describe("Resource resolution, RFC 8707 §2 (invalid_target)", () => {
  it("knows this server's resources; /mcp is the default", () => {
    expect(serverResources(APP)).toEqual([`${APP}/mcp`, `${APP}/mcp/mcp`, `${APP}/mcp/sse`]);
    expect(defaultResource(APP)).toBe(`${APP}/mcp`);
    expect(resolveResource(undefined, APP)).toBe(`${APP}/mcp`);
    expect(resolveResource([], APP)).toBe(`${APP}/mcp`);
    expect(resolveResource([""], APP)).toBe(`${APP}/mcp`);
  });

  it.each([
    ["https://auth.example.com/mcp", "/mcp"],
    ["https://auth.example.com/mcp/", "/mcp"],
    ["HTTPS://Auth.Example.com:443/mcp/mcp", "/mcp/mcp"],
    ["https://auth.example.com/mcp/sse/", "/mcp/sse"],
    ["https://auth.example.com", "/mcp"],
    ["https://auth.example.com/", "/mcp"],
  ])("%s resolves to APP_URL%s", (input, path) => {
    expect(resolveResource([input], APP)).toBe(APP + path);
  });

  it.each([
    "https://evil.example.com/mcp",
    "https://auth.example.com/mcp/other",
    "https://auth.example.com/MCP",
    "http://auth.example.com/mcp",
    "https://auth.example.com:8443/mcp",
    "https://auth.example.com/mcp?x=1",
    "https://auth.example.com/mcp#x",
    "https://auth.example.com.evil.com/mcp",
    "not a url",
  ])("refuses %s", (input) => {
    targetError(() => resolveResource([input], APP));
  });

  it("refuses two different resources in one request but accepts the same one twice", () => {
    expect(targetError(() => resolveResource([`${APP}/mcp/mcp`, `${APP}/mcp/sse`], APP)).description).toMatch(/only one/);
    expect(resolveResource([`${APP}/mcp/mcp`, `${APP}/mcp/mcp/`], APP)).toBe(`${APP}/mcp/mcp`);
  });

  it("works for an APP_URL with a port", () => {
    expect(resolveResource(["http://127.0.0.1:3000/mcp/mcp"], "http://127.0.0.1:3000")).toBe("http://127.0.0.1:3000/mcp/mcp");
    targetError(() => resolveResource(["http://127.0.0.1:3001/mcp/mcp"], "http://127.0.0.1:3000"));
  });
});

describe("Audience coverage, RFC 8707 §2 (a token for APP_URL/mcp is good at every MCP endpoint)", () => {
  it("APP_URL/mcp covers /mcp/mcp and /mcp/sse; the others cover only themselves", () => {
    expect(audienceCovers(`${APP}/mcp`, `${APP}/mcp/mcp`, IDS)).toBe(true);
    expect(audienceCovers(`${APP}/mcp`, `${APP}/mcp/sse`, IDS)).toBe(true);
    expect(audienceCovers(`${APP}/mcp`, `${APP}/mcp`, IDS)).toBe(true);
    expect(audienceCovers(`${APP}/mcp/mcp`, `${APP}/mcp/mcp`, IDS)).toBe(true);
    expect(audienceCovers(`${APP}/mcp/mcp`, `${APP}/mcp/sse`, IDS)).toBe(false);
    expect(audienceCovers(`${APP}/mcp/sse`, `${APP}/mcp`, IDS)).toBe(false);
    expect(audienceCovers(`${APP}/mcp`, `${APP}/mcpx`, IDS)).toBe(false);
    // A stored audience with a trailing slash is the same resource (RFC 8707 §2 canonical form).
    expect(audienceCovers(`${APP}/mcp/`, `${APP}/mcp/sse`, IDS)).toBe(true);
  });
});

describe("Protected Resource Metadata URL, RFC 9728 §3.1 (path-inserted)", () => {
  it("inserts the well-known suffix between the host and the resource's path", () => {
    expect(protectedResourceMetadataUrl(`${APP}/mcp/mcp`)).toBe(`${APP}/.well-known/oauth-protected-resource/mcp/mcp`);
    expect(protectedResourceMetadataUrl(`${APP}/`)).toBe(`${APP}/.well-known/oauth-protected-resource`);
  });
});
