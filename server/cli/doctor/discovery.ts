/**
 * What an MCP client does before anyone signs in, checked step by step: the unauthenticated call and its 401 Bearer
 * challenge (RFC 6750 §3, RFC 9728 §5.1), the Protected Resource Metadata (RFC 9728 §2-3: `resource` must name the
 * URL called), the authorization server's metadata (RFC 8414 §3: `issuer` must equal the issuer URL; MCP
 * Authorization: PKCE S256, RFC 9207 `iss`, how clients register), and CORS for browser-based clients.
 */
import { call, challengeParams, describe, type Unreachable, type Answer } from "./http.ts";
import { MODERN_HEADERS, modernMessage } from "./mcp-wire.ts";
import type { Report } from "./report.ts";

/** A browser Origin for the metadata CORS checks (any origin may read metadata documents). */
const PROBE_ORIGIN = "https://mcp-doctor.invalid";

export interface Discovery {
  /** The 401 probe's verdict: false when the endpoint served without a token. */
  protected: boolean;
  resource?: string;
  scopes?: string[];
  issuer?: string;
  as?: AuthorizationServer;
}

export interface AuthorizationServer {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  registration_endpoint?: string;
  grant_types_supported?: string[];
  code_challenge_methods_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
  client_id_metadata_document_supported?: boolean;
  token_endpoint_auth_methods_supported?: string[];
  scopes_supported?: string[];
  [key: string]: unknown;
}

export interface DiscoveryOptions {
  mcpUrl: URL;
  /** A browser Origin to send to the MCP endpoint (a browser-based client's view). */
  origin?: string;
  report: Report;
}

export async function discover(options: DiscoveryOptions): Promise<Discovery | undefined> {
  const { mcpUrl, origin, report } = options;
  let probe: Answer;
  try {
    probe = await call(mcpUrl, {
      method: "POST",
      headers: { ...MODERN_HEADERS("server/discover"), ...(origin ? { Origin: origin } : {}) },
      body: JSON.stringify(modernMessage("server/discover")),
    });
  } catch (error) {
    report.fail("probe", "The MCP endpoint answers", "unreachable", (error as Unreachable).message);
    return undefined;
  }
  const found: Discovery = { protected: true };
  let metadataUrl: string | undefined;
  if (probe.status === 404) {
    report.fail("probe", "The MCP endpoint answers", "not_mcp_endpoint", `POST ${mcpUrl.href} → 404`);
    return undefined;
  }
  if (probe.status === 403 && origin) {
    report.fail("probe", `The MCP endpoint accepts Origin ${origin}`, "origin_refused", "403 before authentication");
  } else if (probe.status === 429) {
    report.fail("probe", "The MCP endpoint answers", "rate_limited", `429${probe.headers.get("retry-after") ? `, Retry-After ${probe.headers.get("retry-after")} s` : ""}`);
    return undefined;
  } else if (probe.status >= 200 && probe.status < 300) {
    report.warn("probe", "Unauthenticated call gets a 401 Bearer challenge", "not_protected", `${probe.status} without a token`);
    found.protected = false;
    return found;
  } else if (probe.status !== 401) {
    report.fail("probe", "Unauthenticated call gets a 401 Bearer challenge", "not_protected", describe(probe));
  } else {
    const challenge = challengeParams(probe.headers.get("www-authenticate"), "Bearer");
    if (!challenge) {
      report.fail("challenge", "401 carries a WWW-Authenticate: Bearer challenge", "challenge_stripped", probe.headers.get("www-authenticate") ? `WWW-Authenticate: ${probe.headers.get("www-authenticate")}` : "no WWW-Authenticate header");
    } else if (!challenge.resource_metadata) {
      report.warn("challenge", "401 Bearer challenge names resource_metadata (RFC 9728 §5.1)", "no_resource_metadata");
    } else {
      metadataUrl = challenge.resource_metadata;
      report.pass("challenge", "401 Bearer challenge names resource_metadata (RFC 9728 §5.1)", challenge.scope ? `scope "${challenge.scope}"` : undefined);
    }
    if (origin) {
      const exposed = (probe.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      if (!exposed.includes("www-authenticate")) {
        report.warn("challenge-cors", "Browser clients can read the challenge (Access-Control-Expose-Headers)", "challenge_stripped", "WWW-Authenticate not exposed to the page");
      }
    }
  }

  const prm = await protectedResourceMetadata(mcpUrl, metadataUrl, report);
  if (!prm) return found;
  found.resource = prm.resource;
  found.scopes = prm.scopes;
  if (!prm.issuer) return found;
  found.issuer = prm.issuer;
  found.as = await authorizationServerMetadata(prm.issuer, report);
  return found;
}

/** RFC 9728 §3.1: the metadata URL inserts the well-known suffix between the host and the resource's path. */
function wellKnownFor(resource: URL): string[] {
  const path = resource.pathname.replace(/\/+$/, "");
  const urls = [`${resource.origin}/.well-known/oauth-protected-resource${path}`];
  if (path) urls.push(`${resource.origin}/.well-known/oauth-protected-resource`);
  return urls;
}

async function fetchJson(url: string): Promise<Answer | undefined> {
  try {
    return await call(url, { headers: { Accept: "application/json", Origin: PROBE_ORIGIN } });
  } catch {
    return undefined;
  }
}

function checkCors(answer: Answer, id: string, what: string, report: Report): void {
  if (!answer.headers.get("access-control-allow-origin")) report.warn(id, `${what}: readable by browser clients (CORS)`, "missing_cors");
}

async function protectedResourceMetadata(
  mcpUrl: URL,
  fromChallenge: string | undefined,
  report: Report,
): Promise<{ resource: string; scopes?: string[]; issuer?: string } | undefined> {
  const candidates = fromChallenge ? [fromChallenge] : wellKnownFor(mcpUrl);
  let answer: Answer | undefined;
  let used = "";
  for (const url of candidates) {
    answer = await fetchJson(url);
    used = url;
    if (answer?.status === 200 && answer.json) break;
  }
  if (!answer || answer.status !== 200 || typeof answer.json !== "object" || answer.json === null) {
    report.fail("prm", "Protected Resource Metadata (RFC 9728)", "metadata_unreachable", `${used} → ${answer ? describe(answer) : "unreachable"}`);
    return undefined;
  }
  const doc = answer.json as { resource?: unknown; authorization_servers?: unknown; scopes_supported?: unknown };
  const resource = typeof doc.resource === "string" ? doc.resource : "";
  const allowed = resourceCovers(resource, mcpUrl);
  if (!allowed) {
    report.fail("prm-resource", "Protected Resource Metadata names the URL called", "resource_mismatch", `resource "${resource}", called ${mcpUrl.href}`);
  } else {
    report.pass("prm-resource", "Protected Resource Metadata names the URL called", resource === mcpUrl.href ? resource : `${resource} (covers ${mcpUrl.href})`);
  }
  checkCors(answer, "prm-cors", "Protected Resource Metadata", report);
  const servers = Array.isArray(doc.authorization_servers) ? doc.authorization_servers.filter((s): s is string => typeof s === "string") : [];
  if (servers.length === 0) {
    report.fail("prm-as", "Protected Resource Metadata lists an authorization server", "no_authorization_servers");
    return { resource };
  }
  const scopes = Array.isArray(doc.scopes_supported) ? doc.scopes_supported.filter((s): s is string => typeof s === "string") : undefined;
  if (scopes?.includes("offline_access")) {
    report.warn("prm-scopes", "Protected Resource Metadata does not list offline_access (MCP 2026-07-28)", undefined, "offline_access is not a resource requirement");
  }
  if (!allowed) return undefined;
  return { resource, issuer: servers[0], ...(scopes ? { scopes } : {}) };
}

/**
 * What MCP clients accept as the resource of a URL (the SDKs' rule): the same origin, and the URL's path at or below
 * the resource's path.
 */
function resourceCovers(resource: string, url: URL): boolean {
  let parsed: URL;
  try {
    parsed = new URL(resource);
  } catch {
    return false;
  }
  if (parsed.origin !== url.origin) return false;
  const base = parsed.pathname.replace(/\/+$/, "");
  const path = url.pathname.replace(/\/+$/, "");
  return path === base || path.startsWith(base + "/");
}

/** MCP Authorization §Authorization Server Metadata Discovery: RFC 8414 first, then OpenID Connect discovery. */
function asMetadataUrls(issuer: URL): string[] {
  const path = issuer.pathname.replace(/\/+$/, "");
  if (!path) return [`${issuer.origin}/.well-known/oauth-authorization-server`, `${issuer.origin}/.well-known/openid-configuration`];
  return [
    `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
    `${issuer.origin}/.well-known/openid-configuration${path}`,
    `${issuer.origin}${path}/.well-known/openid-configuration`,
  ];
}

async function authorizationServerMetadata(issuer: string, report: Report): Promise<AuthorizationServer | undefined> {
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch {
    report.fail("as", "Authorization server metadata (RFC 8414)", "metadata_unreachable", `authorization server "${issuer}" is not a URL`);
    return undefined;
  }
  let answer: Answer | undefined;
  let used = "";
  for (const url of asMetadataUrls(issuerUrl)) {
    answer = await fetchJson(url);
    used = url;
    if (answer?.status === 200 && answer.json) break;
  }
  if (!answer || answer.status !== 200 || typeof answer.json !== "object" || answer.json === null) {
    report.fail("as", "Authorization server metadata (RFC 8414)", "metadata_unreachable", `${used} → ${answer ? describe(answer) : "unreachable"}`);
    return undefined;
  }
  const as = answer.json as AuthorizationServer;
  if (as.issuer !== issuer) {
    report.fail("as-issuer", "Authorization server metadata's issuer is its URL (RFC 8414 §3.3)", "issuer_mismatch", `issuer "${String(as.issuer)}", fetched for ${issuer}`);
    return undefined;
  }
  report.pass("as-issuer", "Authorization server metadata's issuer is its URL (RFC 8414 §3.3)", issuer);
  checkCors(answer, "as-cors", "Authorization server metadata", report);
  if (!as.code_challenge_methods_supported?.includes("S256")) {
    report.fail("as-pkce", "PKCE with S256 (OAuth 2.1, MCP Authorization)", "no_pkce", `code_challenge_methods_supported: ${JSON.stringify(as.code_challenge_methods_supported ?? null)}`);
  } else {
    report.pass("as-pkce", "PKCE with S256 (OAuth 2.1, MCP Authorization)");
  }
  if (as.authorization_response_iss_parameter_supported === true) report.pass("as-iss", "Authorization responses carry iss (RFC 9207)");
  else report.warn("as-iss", "Authorization responses carry iss (RFC 9207)", "iss_mismatch", "authorization_response_iss_parameter_supported is not true");
  const ways = [
    ...(as.client_id_metadata_document_supported === true ? ["Client ID Metadata Documents"] : []),
    ...(as.registration_endpoint ? ["dynamic registration (deprecated by MCP 2026-07-28)"] : []),
  ];
  if (ways.length === 0) report.warn("as-registration", "Clients can register", "no_registration", "pre-registered clients only");
  else report.pass("as-registration", "Clients can register", ways.join(", "));
  return as;
}
