/**
 * The connection doctor's evidence → cause rules (server/doctor/timeline.ts, rules.ts), on rows shaped as the
 * analytics tables store them: where an authorization stopped (sign-in, consent, an unredeemed code), a challenge
 * never followed, a security event attached to the request it was recorded during, attempts split by idle gaps,
 * and every cause coming from the one catalogue (causes.ts).
 */
import { describe, expect, it } from "vitest";
import { CAUSES } from "../../server/doctor/causes.ts";
import type { Evidence, RequestEvidence, SecurityEvidence } from "../../server/doctor/evidence.ts";
import { causeOfRequest } from "../../server/doctor/rules.ts";
import { diagnose } from "../../server/doctor/timeline.ts";

const T0 = Date.UTC(2026, 11, 5, 6, 0, 0);
const APP = "https://mcp.example.com";
let seq = 0;

function req(atSeconds: number, method: string, endpoint: string, statusCode: number, extra: Partial<RequestEvidence> = {}): RequestEvidence {
  seq += 1;
  return {
    kind: "request",
    id: `r${seq}`,
    timestamp: new Date(T0 + atSeconds * 1000),
    method,
    endpoint,
    statusCode,
    responseTime: 5,
    clientId: "client-row",
    ipAddress: "203.0.113.5",
    userAgent: "agent",
    oauthError: null,
    ...extra,
  };
}

function event(atSeconds: number, eventType: string, details: Record<string, unknown>, extra: Partial<SecurityEvidence> = {}): SecurityEvidence {
  seq += 1;
  return {
    kind: "security",
    id: `s${seq}`,
    timestamp: new Date(T0 + atSeconds * 1000 + 2),
    eventType,
    severity: "medium",
    clientId: "client-row",
    ipAddress: "203.0.113.5",
    userAgent: "agent",
    details,
    ...extra,
  };
}

function evidence(requests: RequestEvidence[], security: SecurityEvidence[] = []): Evidence {
  return { from: new Date(T0 - 3600_000), to: new Date(T0 + 3600_000), requests, security, truncated: false };
}

const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe("Connection doctor: where an authorization stopped", () => {
  it("sent to sign in and never back: stopped_at_sign_in, once the flow has been idle", () => {
    const rows = [req(0, "GET", "/oauth/authorize", 302), req(1, "GET", "/login", 200, { clientId: null })];
    const waiting = diagnose(evidence(rows), { appUrl: APP, now: at(5) });
    expect(waiting.causes).toEqual([]);
    const stopped = diagnose(evidence(rows), { appUrl: APP, now: at(120) });
    expect(stopped.causes.map((c) => c.causeId)).toEqual(["stopped_at_sign_in"]);
    expect(stopped.attempts[0].steps[0]).toMatchObject({ label: "Authorization request: sent to sign in", status: "stopped" });
  });

  it("consent shown, no decision: stopped_at_consent; a decision after it clears it", () => {
    const shown = [req(0, "GET", "/oauth/authorize", 200)];
    expect(diagnose(evidence(shown), { appUrl: APP, now: at(300) }).causes.map((c) => c.causeId)).toEqual(["stopped_at_consent"]);
    const decided = [...shown, req(10, "POST", "/oauth/authorize", 302), req(11, "POST", "/api/oauth/token", 200)];
    expect(diagnose(evidence(decided), { appUrl: APP, now: at(300) }).causes).toEqual([]);
  });

  it("a code sent to the client that never reached the token endpoint: code_not_redeemed", () => {
    const rows = [req(0, "GET", "/oauth/authorize", 200), req(5, "POST", "/oauth/authorize", 302)];
    const d = diagnose(evidence(rows), { appUrl: APP, now: at(300) });
    expect(d.causes.map((c) => c.causeId)).toEqual(["code_not_redeemed"]);
  });

  it("Deny on the consent page: consent_denied (the row's access_denied)", () => {
    const d = diagnose(evidence([req(0, "POST", "/oauth/authorize", 302, { oauthError: "access_denied" })]), { appUrl: APP, now: at(300) });
    expect(d.causes.map((c) => c.causeId)).toEqual(["consent_denied"]);
  });
});

describe("Connection doctor: the challenge and discovery", () => {
  const challenge = () => req(0, "POST", "/mcp/mcp", 401, { clientId: null });

  it("a 401 challenge followed by discovery is a passed step, not a failure", () => {
    const d = diagnose(evidence([challenge(), req(1, "GET", "/.well-known/oauth-protected-resource/*", 200, { clientId: null })]), { appUrl: APP, now: at(600) });
    expect(d.causes).toEqual([]);
    expect(d.attempts[0].steps.map((s) => [s.kind, s.status])).toEqual([
      ["mcp_challenge", "ok"],
      ["discovery", "ok"],
    ]);
  });

  it("a 401 challenge never followed from that address: discovery_not_reached (another address's discovery does not count)", () => {
    const elsewhere = req(1, "GET", "/.well-known/oauth-protected-resource/*", 200, { clientId: null, ipAddress: "198.51.100.1" });
    const d = diagnose(evidence([challenge(), elsewhere]), { appUrl: APP, now: at(600) });
    expect(d.causes.map((c) => c.causeId)).toEqual(["discovery_not_reached"]);
  });
});

describe("Connection doctor: security events and request rows", () => {
  it("attaches an event to the request it was recorded during, and names the cause from the event", () => {
    const mcp = req(0, "POST", "/mcp/mcp", 401, { oauthError: "invalid_token" });
    const refused = event(0, "INVALID_TOKEN", { reason: "audience", endpoint: "/mcp/mcp", audience: `${APP}/mcp/sse` });
    const d = diagnose(evidence([mcp], [refused]), { appUrl: APP, now: at(60) });
    expect(d.attempts[0].steps).toHaveLength(1);
    expect(d.attempts[0].steps[0].evidence.map((e) => e.id)).toEqual([mcp.id, refused.id]);
    expect(d.causes).toEqual([
      expect.objectContaining({ causeId: "wrong_audience", facts: [`The token was issued for ${APP}/mcp/sse.`, `It was used at ${APP}/mcp/mcp.`], count: 1 }),
    ]);
  });

  it("an event from another address is not attached; without a request it is a step of its own", () => {
    const mcp = req(0, "POST", "/mcp/mcp", 200);
    const limited = event(0, "RATE_LIMIT_EXCEEDED", { endpoint: "token", key: "ip", limit: 5, windowSeconds: 60 }, { ipAddress: "192.0.2.1" });
    const d = diagnose(evidence([mcp], [limited]), { appUrl: APP, now: at(60) });
    const steps = d.attempts[0].steps;
    expect(steps).toHaveLength(2);
    expect(steps[1]).toMatchObject({ kind: "address", status: "failed", finding: { causeId: "rate_limited" } });
    expect(steps[1].finding!.facts).toEqual(["Limit hit: 5 requests per 60 s per address on token (address 192.0.2.1).", "Setting: RATE_LIMIT_TOKEN_PER_IP"]);
  });

  it("a DPoP proof outside the time window: clock_skew; other proof problems: invalid_token with the reason", () => {
    const mcp = req(0, "POST", "/mcp/mcp", 401, { oauthError: "invalid_dpop_proof" });
    const skewed = diagnose(evidence([mcp], [event(0, "INVALID_DPOP_PROOF", { reason: "iat_stale", endpoint: "/mcp/mcp" })]), { appUrl: APP, now: at(60) });
    expect(skewed.causes.map((c) => c.causeId)).toEqual(["clock_skew"]);
    const other = diagnose(evidence([mcp], [event(0, "INVALID_DPOP_PROOF", { reason: "jkt_mismatch", endpoint: "/mcp/mcp" })]), { appUrl: APP, now: at(60) });
    expect(other.causes).toEqual([expect.objectContaining({ causeId: "invalid_token", facts: ["The DPoP proof was refused: jkt mismatch."] })]);
  });

  it("the console's own cross-site refusal is not a connection cause", () => {
    const d = diagnose(evidence([], [event(0, "INVALID_ORIGIN", { surface: "trpc", origin: "https://evil.example" })]), { appUrl: APP, now: at(60) });
    expect(d.causes).toEqual([]);
  });

  it("maps request rows by their status and OAuth error code", () => {
    expect(causeOfRequest(req(0, "POST", "/api/oauth/token", 429, { oauthError: "rate_limit_exceeded" }))).toBe("rate_limited");
    expect(causeOfRequest(req(0, "GET", "/oauth/authorize", 302, { oauthError: "invalid_target" }))).toBe("resource_mismatch");
    expect(causeOfRequest(req(0, "POST", "/mcp/mcp", 403, { oauthError: "insufficient_scope" }))).toBe("insufficient_scope");
    expect(causeOfRequest(req(0, "POST", "/mcp/mcp", 403))).toBe("origin_refused");
    expect(causeOfRequest(req(0, "POST", "/api/oauth/register", 400, { oauthError: "invalid_redirect_uri" }))).toBe("registration_refused");
    expect(causeOfRequest(req(0, "GET", "/.well-known/oauth-protected-resource/*", 404))).toBe("metadata_unreachable");
    expect(causeOfRequest(req(0, "POST", "/mcp/mcp", 401))).toBeNull(); // the challenge
    expect(causeOfRequest(req(0, "GET", "/admin/clients", 500))).toBeNull(); // not a connection step
  });
});

describe("Connection doctor: attempts", () => {
  it("splits attempts at ten idle minutes, most recent first, and marks one that reached a tool call as connected", () => {
    const rows = [
      req(0, "POST", "/mcp/mcp", 401, { oauthError: "invalid_token" }),
      req(20 * 60, "POST", "/api/oauth/token", 200),
      req(20 * 60 + 1, "POST", "/mcp/mcp", 200),
    ];
    const d = diagnose(evidence(rows), { appUrl: APP, now: at(3600) });
    expect(d.attempts.map((a) => a.outcome)).toEqual(["connected", "failed"]);
    expect(d.attempts[1].causeId).toBe("invalid_token");
  });

  it("every finding's text is the catalogue's", () => {
    const d = diagnose(evidence([req(0, "POST", "/mcp/mcp", 403)], [event(0, "REDIRECT_URI_MISMATCH", { endpoint: "authorize", redirectUri: "https://x.example/cb" })]), {
      appUrl: APP,
      now: at(60),
    });
    for (const c of d.causes) expect({ cause: c.cause, fix: c.fix }).toEqual(CAUSES[c.causeId]);
  });
});
