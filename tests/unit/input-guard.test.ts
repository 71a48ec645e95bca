/**
 * The host's input guard (server/http/input-guard.ts) as pure functions: what it refuses, and — as important — the
 * ordinary text it lets through (non-ASCII names, emoji as surrogate pairs, `%` and `+` in form values).
 */
import { describe, expect, it } from "vitest";
import { bodyProblem, headerProblem, INPUT_LIMITS, targetProblem } from "../../server/http/input-guard.ts";
import { surfaceOf } from "../../server/http/bad-request.ts";

const json = (text: string) => bodyProblem(Buffer.from(text, "utf8"), "application/json");
const formBody = (text: string) => bodyProblem(Buffer.from(text, "utf8"), "application/x-www-form-urlencoded");

describe("request targets (RFC 9112 §3.2)", () => {
  it.each([
    "/",
    "/oauth/authorize?client_id=abc&state=%C3%A9t%C3%A9",
    "/login?returnTo=%2Foauth%2Fauthorize%3Fa%3D1",
    "/api/trpc/me.grants?input=%7B%22a%22%3A%22%F0%9F%98%80%22%7D",
    "/api/trpc/me.grants?input={\"a\":\"\\ud83d\\ude00\"}",
    "/x?a=50%&b=%zz",
    "/admin/clients/%C3%A9",
  ])("accepts %s", (target) => {
    expect(targetProblem(target)).toBeNull();
  });

  it.each([
    ["http://evil.example/mcp/mcp", "path", "names another host"],
    ["evil.example:443", "path", "must be a path"],
    ["*", "path", "must be a path"],
    ["//mcp/mcp", "path", "must not start with //"],
    ["/a\u00ff", "path", "printable ASCII"],
    ["/admin/clients/%00", "path", "NUL"],
    ["/admin/clients/%C3%28", "path", "UTF-8"],
    ["/%", "path", "percent-escape"],
    ["/%E0%A4%A", "path", "percent-escape"],
    ["/login?returnTo=%00", "query", "NUL"],
    ["/login?%00=1", "query", "name contains a NUL"],
    ["/login?returnTo=%C3%28", "query", "UTF-8"],
    ["/login?returnTo=%ED%A0%80", "query", "UTF-8"],
    [`/login?returnTo=${"a".repeat(INPUT_LIMITS.valueChars + 1)}`, "query", "longer than"],
    ["/api/trpc/me.grants?input=%7B%22a%22%3A%22%5Cu0000%22%7D", "query", "NUL"],
    ['/api/trpc/me.grants?input={"a":"\\ud800"}', "query", "lone surrogate"],
  ])("refuses %s (%s)", (target, part, words) => {
    const problem = targetProblem(target);
    expect(problem?.part).toBe(part);
    expect(problem?.description).toContain(words);
    expect(problem?.description).toMatch(/^[\x20-\x7e]+$/);
  });
});

describe("bodies", () => {
  it.each([
    ['{"name":"Zoë 😀","emoji":"\\ud83d\\ude00","n":1,"list":[null,true,{"k":"v"}]}'],
    [`{"long":"${"x".repeat(INPUT_LIMITS.valueChars)}"}`],
    ["{not json"],
  ])("accepts the JSON %#", (text) => {
    expect(json(text)).toBeNull();
  });

  it.each([
    ['{"a":"\\u0000"}', "NUL"],
    ['{"\\u0000key":1}', "NUL"],
    ['{"a":["x","\\udc00"]}', "lone surrogate"],
    [`{"a":"${"x".repeat(INPUT_LIMITS.valueChars + 1)}"}`, "longer than"],
    [`${"[".repeat(100_000)}"\\u0000"${"]".repeat(100_000)}`, "NUL"],
  ])("refuses the JSON %#", (text, words) => {
    const problem = json(text);
    expect(problem?.part).toBe("body");
    expect(problem?.description).toContain(words);
  });

  it("refuses raw NUL and invalid UTF-8 in any text body, leaves binary types to their handlers", () => {
    expect(bodyProblem(Buffer.from([0x61, 0x00]), "text/plain")?.description).toContain("NUL");
    expect(bodyProblem(Buffer.from([0x61, 0xff]), undefined)?.description).toContain("UTF-8");
    expect(bodyProblem(Buffer.from([0x61, 0xff]), "multipart/form-data; boundary=x")?.description).toContain("UTF-8");
    expect(bodyProblem(Buffer.from([0x00, 0xff]), "application/octet-stream")).toBeNull();
    expect(bodyProblem(Buffer.alloc(0), "application/json")).toBeNull();
  });

  it("form bodies are decoded as the URL Standard does, strictly about UTF-8", () => {
    expect(formBody("email=zo%C3%AB%40example.com&csrf=a+b&x=100%&y")).toBeNull();
    expect(formBody("email=a%00b")?.description).toContain("NUL");
    expect(formBody("email=%C3")?.description).toContain("UTF-8");
    expect(formBody(`email=${"a".repeat(INPUT_LIMITS.valueChars + 1)}`)?.description).toContain("longer than");
  });
});

describe("repeated single-valued headers (RFC 9110 §5.3)", () => {
  it("refuses Host, Authorization, Content-Type, Origin, Mcp-Session-Id and MCP-Protocol-Version twice, in any case", () => {
    for (const name of ["Host", "authorization", "Content-Type", "ORIGIN", "Mcp-Session-Id", "MCP-Protocol-Version"]) {
      expect(headerProblem([name, "a", "X-Other", "1", name.toLowerCase(), "b"])?.part, name).toBe("header");
    }
  });

  it("refuses a Host that is not a host (RFC 9112 §3.2), accepts names, addresses and ports", () => {
    for (const host of ["[]", "a b", "evil.example<script>", "", "[::1", "x:port", "-"]) expect(headerProblem(["Host", host])?.description, host).toContain("Host");
    for (const host of ["localhost", "127.0.0.1:3000", "[::1]:8080", "auth.example.com", "xn--bcher-kva.example"]) expect(headerProblem(["Host", host]), host).toBeNull();
  });

  it("lets list headers repeat", () => {
    expect(headerProblem(["Host", "a", "Accept", "x", "Accept", "y", "Cookie", "a=1", "Cookie", "b=2", "X-Forwarded-For", "1", "X-Forwarded-For", "2"])).toBeNull();
  });
});

describe("the surface a path belongs to", () => {
  it.each([
    ["/api/oauth/token", "oauth"],
    ["/.well-known/oauth-authorization-server", "oauth"],
    ["/api/oauth/register", "registration"],
    ["/mcp/mcp", "mcp"],
    ["//mcp/mcp", "mcp"],
    ["/mcp/message", "mcp"],
    ["/api/trpc/me.grants", "trpc"],
    ["/api/health", "api"],
    ["/api/analytics/collect", "api"],
    ["/metrics", "api"],
    ["/api/auth/signin", "page"],
    ["/oauth/authorize", "page"],
    ["/login", "page"],
    ["/admin/clients", "page"],
  ])("%s -> %s", (path, surface) => {
    expect(surfaceOf(path)).toBe(surface);
  });
});
