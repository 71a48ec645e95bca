/**
 * Scopes (pure). `mcp:tools` (the default) lets a client use every ordinary MCP tool as the user; it covers the
 * narrower `mcp:tools:read` (tools that only read) and `mcp:tools:write` (tools that change something), so a client
 * can start with the least privilege and step up only when a tool needs more (MCP 2026-07-28 Authorization §Step-Up
 * Authorization Flow). `mcp:admin` lets it use the admin tools and may only be granted to users with role ADMIN. Which
 * tool needs which scope is the tool's own declaration (server/mcp/tools).
 *
 * Rules (RFC 6749 §3.3, OAuth 2.1 §1.4.1):
 * - `scope` is a space-delimited list of NQCHAR tokens; a malformed value is `invalid_scope`.
 * - Absent (or nothing this server knows) → the default scope.
 * - Unknown scope values are ignored (RFC 6749 §3.3: the AS MAY ignore part of the requested scope); the token
 *   response's `scope` says what was granted (RFC 6749 §5.1).
 * - A known scope the client did not register is `invalid_scope` (a scope covered by a registered one counts as
 *   registered).
 * - `mcp:admin` requested for a non-admin is dropped (so clients that ask for every `scopes_supported` still work for
 *   ordinary users); if nothing is left, `invalid_scope`.
 * - Scope hierarchy (`scopeCovers`) everywhere a set of scopes is compared, and a stored set never lists a scope that
 *   another of its scopes covers (`formatScope`).
 *
 * Reused by the admin console (client scopes) and the MCP side (scope checks).
 */
import { OAuthError } from "./errors.ts";

export interface ScopeInfo {
  /** What the consent page tells the person. */
  description: string;
  adminOnly: boolean;
}

/** The scope names, for code that needs one (tool declarations, the admin checks). */
export const McpScope = {
  /** Every ordinary tool (covers the two below). */
  tools: "mcp:tools",
  /** What every MCP session needs (list the tools) and the tools that only read. */
  toolsRead: "mcp:tools:read",
  /** Tools that change something. */
  toolsWrite: "mcp:tools:write",
  /** Admin tools; the user must also have the ADMIN role. */
  admin: "mcp:admin",
} as const;

export const SCOPES = {
  [McpScope.tools]: { description: "Use this server's MCP tools on your behalf (read and change)", adminOnly: false },
  [McpScope.toolsRead]: { description: "See who you are and which apps you have connected", adminOnly: false },
  [McpScope.toolsWrite]: { description: "Change things for you, such as disconnecting an app", adminOnly: false },
  [McpScope.admin]: { description: "Use the administrator tools (clients, users, analytics)", adminOnly: true },
} as const satisfies Record<string, ScopeInfo>;

export type Scope = keyof typeof SCOPES;

export const SUPPORTED_SCOPES = Object.keys(SCOPES) as Scope[];
export const DEFAULT_SCOPES: Scope[] = [McpScope.tools];

/** What every request to an MCP endpoint needs (listing the tools): the narrowest tools scope. */
export const ENDPOINT_SCOPES: readonly string[] = [McpScope.toolsRead];

export function isSupportedScope(value: string): value is Scope {
  return Object.hasOwn(SCOPES, value);
}

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Splits a scope string into distinct tokens; throws `invalid_scope` for a malformed one. Empty/absent → []. */
export function parseScope(value: string | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  if (value.length > 1000) throw new OAuthError("invalid_scope", "scope is too long");
  const tokens = value.split(" ").filter(Boolean);
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) throw new OAuthError("invalid_scope", "scope must be space-separated scope tokens (RFC 6749 §3.3)");
  }
  return [...new Set(tokens)];
}

/**
 * The canonical string of a set of scopes: supported scopes in the order of SUPPORTED_SCOPES, without any scope that
 * another one in the set covers (`mcp:tools mcp:tools:read` is `mcp:tools`).
 */
export function formatScope(scopes: Iterable<string>): string {
  const set = new Set(scopes);
  const held = SUPPORTED_SCOPES.filter((s) => set.has(s));
  return held.filter((s) => !held.some((other) => other !== s && scopeCovers(other, s))).join(" ");
}

/**
 * The scope a client may use, from its registration metadata (RFC 7591 §2 `scope`): the supported scopes it named
 * (unknown ones are dropped, RFC 7591 §3.2.1 lets the server replace metadata); none named → every supported scope.
 */
export function clientScopeFromMetadata(value: unknown): string {
  if (value !== undefined && value !== null && typeof value !== "string") {
    throw new OAuthError("invalid_client_metadata", "scope must be a space-separated string");
  }
  const known = parseScope(value as string | undefined).filter(isSupportedScope);
  return formatScope(known.length > 0 ? known : SUPPORTED_SCOPES);
}

export interface ScopeDecision {
  /** Granted scopes, canonical order. */
  scopes: Scope[];
  /** Requested scopes that were dropped (unknown, or admin-only for a non-admin). */
  ignored: string[];
}

/** The supported scopes among `scopes` that the person may hold: the admin-only ones only for an administrator. */
export function grantableScopes(scopes: readonly string[], isAdmin: boolean): Scope[] {
  return scopes.filter((s): s is Scope => isSupportedScope(s) && (isAdmin || !SCOPES[s].adminOnly));
}

/**
 * Decides the scopes of an authorization request (RFC 6749 §3.3). `clientScope` is the client's registered scope
 * string; `isAdmin` whether the signed-in person has role ADMIN.
 */
export function decideScopes(input: { requested: string | null | undefined; clientScope: string; isAdmin: boolean }): ScopeDecision {
  const requested = parseScope(input.requested);
  const allowed = new Set(parseScope(input.clientScope));
  const ignored = requested.filter((s) => !isSupportedScope(s));
  let wanted = requested.filter(isSupportedScope);
  // Nothing asked: the default, or the narrower scopes of it the client registered.
  if (wanted.length === 0) wanted = DEFAULT_SCOPES.flatMap((d) => (allowed.has(d) ? [d] : [...allowed].filter((a): a is Scope => isSupportedScope(a) && scopeCovers(d, a))));
  if (wanted.length === 0) throw new OAuthError("invalid_scope", "this client is not registered for the default scope; request a scope explicitly");
  const notAllowed = missingScopes([...allowed], wanted);
  if (notAllowed.length > 0) {
    throw new OAuthError("invalid_scope", `the client is not registered for scope ${notAllowed.join(" ")}`);
  }
  const granted = grantableScopes(wanted, input.isAdmin);
  ignored.push(...wanted.filter((s) => !granted.includes(s)));
  if (granted.length === 0) throw new OAuthError("invalid_scope", "mcp:admin may only be granted to administrators");
  return { scopes: parseScope(formatScope(granted)) as Scope[], ignored };
}

/**
 * Scope hierarchy (MCP 2026-07-28 Authorization §"Step-Up Authorization Flow": a broader scope implies narrower
 * ones): a scope covers itself and every scope that extends it by `:`-separated segments, so `mcp:tools` covers
 * `mcp:tools:read`, and `mcp` would cover both. `mcp:admin` and `mcp:tools` are siblings: neither covers the other.
 */
export function scopeCovers(held: string, needed: string): boolean {
  return needed === held || (needed.length > held.length && needed.startsWith(held) && needed[held.length] === ":");
}

/** The scopes in `needed` that nothing in `held` covers (empty: `held` is enough). */
export function missingScopes(held: readonly string[], needed: readonly string[]): string[] {
  return needed.filter((scope) => !held.some((h) => scopeCovers(h, scope)));
}

/** Whether `granted` covers every scope in `requested` (remembered consent, refresh down-scoping, resource checks). */
export function scopesCover(granted: readonly string[], requested: readonly string[]): boolean {
  return missingScopes(granted, requested).length === 0;
}
