/**
 * Evidence → cause: which cause of the catalogue (causes.ts) a stored security event or request row shows, with
 * the facts the row holds (the Origin refused, the redirect_uri asked for, the audience of a wrong-audience token,
 * the resource asked for, the limit hit). Only fields known to be safe are read from `details`; nothing here can
 * quote a token, code or secret because no row holds one.
 */
import type { CauseId } from "./causes.ts";
import type { Evidence, RequestEvidence, SecurityEvidence } from "./evidence.ts";
import { stepOf, type StepId, type StepKind } from "./steps.ts";

export interface CauseContext {
  appUrl: string;
  /** The client being examined, when it exists. */
  client?: { redirectUris: string[]; disabled: boolean } | null;
}

export interface EventVerdict {
  causeId: CauseId | null;
  facts: string[];
  /** The steps this event can be recorded during. */
  kinds: StepId[];
  /** How to show the event when no request row matches it. */
  standalone: StepKind;
}

const ALL_STEPS: StepId[] = ["mcp_challenge", "mcp", "discovery", "registration", "authorize", "consent", "token", "sign_in"];
const MCP_STEPS: StepId[] = ["mcp", "mcp_challenge"];

function text(value: unknown, max = 300): string | null {
  return typeof value === "string" && value !== "" ? value.slice(0, max) : null;
}

function verdict(causeId: CauseId | null, facts: Array<string | null | false | undefined>, kinds: StepId[], standalone: StepKind): EventVerdict {
  return { causeId, facts: facts.filter((f): f is string => Boolean(f)), kinds, standalone };
}

/** The steps of a rate-limited endpoint (server/request/rate-limit.ts names them). */
function rateLimitSteps(endpoint: string | null): StepId[] {
  switch (endpoint) {
    case "mcp":
      return MCP_STEPS;
    case "authorize":
      return ["authorize", "consent"];
    case "token":
      return ["token"];
    case "register":
      return ["registration"];
    default:
      return ALL_STEPS;
  }
}

export function causeOfSecurityEvent(event: SecurityEvidence, evidence: Evidence, context: CauseContext): EventVerdict {
  const d = event.details;
  const reason = text(d.reason, 60);
  const endpoint = text(d.endpoint, 100);
  switch (event.eventType) {
    case "INVALID_TOKEN": {
      const standalone: StepKind = { id: "mcp", label: "MCP request refused: invalid token" };
      if (reason === "audience") {
        return verdict(
          "wrong_audience",
          [text(d.audience) && `The token was issued for ${text(d.audience)}.`, endpoint && `It was used at ${context.appUrl}${endpoint}.`],
          MCP_STEPS,
          standalone,
        );
      }
      if (reason === "client_disabled") return verdict("client_disabled", [], MCP_STEPS, standalone);
      return verdict("invalid_token", [reason && `Why it was refused: ${reason.replace(/_/g, " ")}.`], MCP_STEPS, standalone);
    }
    case "INVALID_DPOP_PROOF": {
      const standalone: StepKind = { id: "mcp", label: "DPoP proof refused" };
      if (reason?.startsWith("iat")) return verdict("clock_skew", [], [...MCP_STEPS, "token"], standalone);
      return verdict("invalid_token", [reason && `The DPoP proof was refused: ${reason.replace(/_/g, " ")}.`], [...MCP_STEPS, "token"], standalone);
    }
    case "REDIRECT_URI_MISMATCH": {
      const asked = text(d.redirectUri, 500);
      const registered = context.client?.redirectUris ?? [];
      return verdict(
        "redirect_uri_unregistered",
        [
          asked && `The redirect_uri asked for: ${asked}`,
          registered.length > 0 ? `Registered for this client: ${registered.slice(0, 5).join(", ")}` : null,
        ],
        endpoint === "token" ? ["token"] : ["authorize", "consent"],
        { id: "authorize", label: "Authorization request refused: redirect_uri" },
      );
    }
    case "INVALID_ORIGIN": {
      if (d.surface === "trpc") return verdict(null, [], [], { id: "address", label: "Admin console call from another site refused" });
      const origin = text(d.origin, 200);
      return verdict(
        "origin_refused",
        [origin && `Origin refused: ${origin}${endpoint ? ` (on ${endpoint})` : ""}.`, origin && `To allow it: ALLOWED_ORIGINS=${origin}`],
        ALL_STEPS,
        { id: "mcp", label: "Request refused: Origin not allowed" },
      );
    }
    case "RATE_LIMIT_EXCEEDED": {
      const key = text(d.key, 20);
      const limit = typeof d.limit === "number" ? d.limit : null;
      const windowSeconds = typeof d.windowSeconds === "number" ? d.windowSeconds : null;
      const setting =
        endpoint === "connections" ? "MAX_CONNECTIONS_PER_IP" : endpoint && key ? `RATE_LIMIT_${endpoint.toUpperCase()}_PER_${key.toUpperCase()}` : null;
      return verdict(
        "rate_limited",
        [
          limit === null ? null : `Limit hit: ${limit} requests${windowSeconds ? ` per ${windowSeconds} s` : ""} per ${key === "client" ? "client" : "address"} on ${endpoint ?? "this endpoint"}${event.ipAddress && key !== "client" ? ` (address ${event.ipAddress})` : ""}.`,
          setting && `Setting: ${setting}`,
        ],
        rateLimitSteps(endpoint),
        { id: "address", label: "Rate limit hit" },
      );
    }
    case "TOKEN_REUSE": {
      const addresses = tokenAddresses(evidence, event.clientId);
      return verdict(
        "refresh_replayed",
        [
          "Every token of the grant was revoked.",
          addresses.length > 1 ? `The token endpoint was called for this client from ${addresses.length} addresses in this window: ${addresses.join(", ")}.` : null,
          event.ipAddress ? `The used refresh token came back from ${event.ipAddress}.` : null,
        ],
        ["token"],
        { id: "token", label: "Refresh token presented again" },
      );
    }
    case "CODE_REUSE":
      return verdict("code_replayed", [], ["token"], { id: "token", label: "Authorization code presented again" });
    case "PKCE_FAILURE":
      return verdict("pkce_failed", [], ["token"], { id: "token", label: "PKCE verifier refused" });
    case "INVALID_CLIENT": {
      const standalone: StepKind = { id: "token", label: "Client not recognised" };
      if (reason === "metadata_document") {
        return verdict(
          "metadata_document_refused",
          [event.clientId && !looksLikeRowId(event.clientId) ? `client_id: ${event.clientId}` : null, text(d.description) && `Why: ${text(d.description)}.`],
          ["authorize", "token"],
          { id: "registration", label: "Client ID Metadata Document refused" },
        );
      }
      if (reason === "unknown_client") {
        const presented = event.clientId && !looksLikeRowId(event.clientId) ? event.clientId : null;
        return verdict("unknown_client", [presented && `client_id presented: ${presented}`], ["authorize", "token", "registration"], standalone);
      }
      return verdict("token_request_failed", [reason && `Client authentication failed: ${reason.replace(/_/g, " ")}.`], ["token"], standalone);
    }
    case "RESOURCE_MISMATCH": {
      const expected = text(d.expected) ?? context.appUrl;
      const resources = Array.isArray(d.resource) ? d.resource.map((r) => text(r)).filter(Boolean) : [];
      const facts =
        reason === "host"
          ? [text(d.calledHost, 200) && `The client called this server at host ${text(d.calledHost, 200)}${endpoint ? ` (${endpoint})` : ""}.`, `APP_URL is ${expected}.`]
          : [resources.length > 0 ? `The resource asked for: ${resources.join(", ")}` : null, `APP_URL is ${expected}; the resources served are under ${expected}/mcp.`];
      return verdict("resource_mismatch", facts, ALL_STEPS, { id: "address", label: "Called under another address than APP_URL" });
    }
    case "SUSPICIOUS_ACTIVITY":
      if (reason === "refresh_client_mismatch" || reason === "code_client_mismatch") {
        return verdict("token_request_failed", [`The code or refresh token belongs to another client.`], ["token"], { id: "token", label: "Token of another client" });
      }
      return verdict("mcp_error", [reason && `${reason.replace(/_/g, " ")}.`], MCP_STEPS, { id: "mcp", label: "MCP session of another caller" });
    default:
      return verdict(null, [], [], { id: "address", label: event.eventType });
  }
}

/** Row ids are UUIDs (Client.id); a presented client_id is anything else. */
function looksLikeRowId(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

function tokenAddresses(evidence: Evidence, clientId: string | null): string[] {
  const addresses = new Set<string>();
  for (const r of evidence.requests) {
    if (r.endpoint === "/api/oauth/token" && r.ipAddress && (!clientId || r.clientId === clientId)) addresses.add(r.ipAddress);
  }
  return [...addresses].slice(0, 10);
}

/** The cause a request row shows by itself (status and OAuth error code), when no security event explains it. */
export function causeOfRequest(row: RequestEvidence): CauseId | null {
  const step = stepOf(row);
  if (!step) return null;
  if (row.statusCode === 429 || row.oauthError === "rate_limit_exceeded") return "rate_limited";
  if (row.oauthError === "invalid_target") return "resource_mismatch";
  switch (step.id) {
    case "mcp":
      if (row.oauthError === "invalid_token") return "invalid_token";
      if (row.oauthError === "insufficient_scope") return "insufficient_scope";
      if (row.statusCode === 403 && !row.oauthError) return "origin_refused";
      return row.statusCode >= 400 && row.statusCode < 500 ? "mcp_error" : null;
    case "authorize":
    case "consent":
      if (row.oauthError === "access_denied") return "consent_denied";
      return row.oauthError || (row.statusCode >= 400 && row.statusCode < 500) ? "authorization_error" : null;
    case "registration":
      return row.statusCode >= 400 && row.statusCode < 500 ? "registration_refused" : null;
    case "token":
      return row.statusCode >= 400 && row.statusCode < 500 ? "token_request_failed" : null;
    case "discovery":
      if (row.statusCode === 403 && !row.oauthError) return "origin_refused";
      return row.statusCode === 404 ? "metadata_unreachable" : null;
    default:
      return null;
  }
}
