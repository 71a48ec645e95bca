/** Which step of an MCP client's connection a stored request row is, by its route pattern (never the raw path). */
import type { RequestEvidence } from "./evidence.ts";

export type StepId = "mcp_challenge" | "discovery" | "registration" | "authorize" | "sign_in" | "consent" | "token" | "mcp" | "address";

export interface StepKind {
  id: StepId;
  label: string;
}

const MCP_ROUTES = new Set(["/mcp/mcp", "/mcp/sse", "/mcp/message"]);
const SIGN_IN_ROUTES = new Set(["/login", "/auth/google", "/api/auth/callback/google", "/api/auth/signin"]);

export function stepOf(row: Pick<RequestEvidence, "method" | "endpoint" | "statusCode" | "oauthError">): StepKind | null {
  const { endpoint } = row;
  if (endpoint === "/.well-known/oauth-protected-resource" || endpoint === "/.well-known/oauth-protected-resource/*") {
    return { id: "discovery", label: "Discovery: protected resource metadata (RFC 9728)" };
  }
  if (endpoint === "/.well-known/oauth-authorization-server" || endpoint === "/.well-known/openid-configuration") {
    return { id: "discovery", label: "Discovery: authorization server metadata (RFC 8414)" };
  }
  if (endpoint === "/api/oauth/register") return { id: "registration", label: "Registration (RFC 7591)" };
  if (endpoint === "/oauth/authorize") {
    return row.method === "POST" ? { id: "consent", label: "Consent decision" } : { id: "authorize", label: "Authorization request" };
  }
  if (SIGN_IN_ROUTES.has(endpoint)) return { id: "sign_in", label: "Sign-in" };
  if (endpoint === "/api/oauth/token" || endpoint === "/oauth/token") return { id: "token", label: "Token request" };
  if (MCP_ROUTES.has(endpoint)) {
    if (row.statusCode === 401 && !row.oauthError) {
      return { id: "mcp_challenge", label: "MCP request without a token: 401 with the Bearer challenge" };
    }
    return { id: "mcp", label: `MCP request (${endpoint})` };
  }
  return null;
}

/** Steps whose 4xx is expected on the way (the challenge that starts OAuth). */
export function expectedRefusal(id: StepId): boolean {
  return id === "mcp_challenge";
}
