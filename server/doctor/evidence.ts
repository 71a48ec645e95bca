/**
 * What the connection doctor reads: the stored analytics rows of one client's (or one address's, or one unknown
 * `client_id`'s) recent attempts, from AnalyticsRequest and AnalyticsSecurity. Every query is bounded by a short
 * window (at most DOCTOR_MAX_WINDOW_MS) and a row limit, and uses an index: `(clientId, timestamp)` and
 * `(ipAddress, timestamp)`. Steps a client takes before it is known (discovery documents, the 401 without a
 * token, sign-in) carry no client id: they are found by the address and User-Agent the client's own rows came
 * from. Rows hold no token, code or secret (server/analytics/sanitize.ts); the doctor shows only chosen fields.
 */
import type { PrismaClient } from "../db/client.ts";

export const DOCTOR_MAX_WINDOW_MS = 24 * 3600_000;
/** Rows read per query at most; the page says when the window held more. */
export const DOCTOR_ROW_LIMIT = 500;
/** Addresses a client's anonymous steps are looked up by, at most. */
const MAX_ADDRESSES = 5;
/** User-Agents (the client's own and its person's browser) its anonymous steps are matched by, at most. */
const MAX_AGENTS = 10;

export interface DoctorDeps {
  prisma: PrismaClient;
}

export interface RequestEvidence {
  kind: "request";
  id: string;
  timestamp: Date;
  method: string;
  endpoint: string;
  statusCode: number;
  responseTime: number;
  clientId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  oauthError: string | null;
}

export interface SecurityEvidence {
  kind: "security";
  id: string;
  timestamp: Date;
  eventType: string;
  severity: string;
  clientId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  details: Record<string, unknown>;
}

export interface Evidence {
  from: Date;
  to: Date;
  requests: RequestEvidence[];
  security: SecurityEvidence[];
  /** A query hit its row limit: older rows of the window are not shown. */
  truncated: boolean;
}

export interface Window {
  from: Date;
  to: Date;
}

/** The window ending now (or `to`), at most DOCTOR_MAX_WINDOW_MS long. */
export function doctorWindow(minutes: number, to = new Date()): Window {
  const ms = Math.min(Math.max(1, minutes) * 60_000, DOCTOR_MAX_WINDOW_MS);
  return { from: new Date(to.getTime() - ms), to };
}

/** Route patterns of the steps a client takes before a token names it (found by address and User-Agent). */
const ANONYMOUS_STEPS = [
  "/.well-known/oauth-protected-resource",
  "/.well-known/oauth-protected-resource/*",
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration",
  "/mcp/mcp",
  "/mcp/sse",
  "/mcp/message",
  "/oauth/authorize",
  "/api/oauth/register",
  "/api/oauth/token",
  "/login",
  "/auth/google",
  "/api/auth/callback/google",
];

const REQUEST_SELECT = {
  id: true,
  timestamp: true,
  method: true,
  endpoint: true,
  statusCode: true,
  responseTime: true,
  clientId: true,
  ipAddress: true,
  userAgent: true,
  oauthError: true,
} as const;

type RequestWhere = NonNullable<Parameters<PrismaClient["analyticsRequest"]["findMany"]>[0]>["where"];
type SecurityWhere = NonNullable<Parameters<PrismaClient["analyticsSecurity"]["findMany"]>[0]>["where"];

async function requests(deps: DoctorDeps, window: Window, where: RequestWhere): Promise<{ rows: RequestEvidence[]; full: boolean }> {
  const rows = await deps.prisma.analyticsRequest.findMany({
    where: { ...where, timestamp: { gte: window.from, lte: window.to } },
    orderBy: { timestamp: "desc" },
    take: DOCTOR_ROW_LIMIT,
    select: REQUEST_SELECT,
  });
  return { rows: rows.map((r) => ({ kind: "request" as const, ...r })), full: rows.length >= DOCTOR_ROW_LIMIT };
}

async function securityEvents(deps: DoctorDeps, window: Window, where: SecurityWhere): Promise<{ rows: SecurityEvidence[]; full: boolean }> {
  const rows = await deps.prisma.analyticsSecurity.findMany({
    where: { ...where, eventType: { not: "ADMIN_ACTION" }, timestamp: { gte: window.from, lte: window.to } },
    orderBy: { timestamp: "desc" },
    take: DOCTOR_ROW_LIMIT,
    select: { id: true, timestamp: true, eventType: true, severity: true, clientId: true, ipAddress: true, userAgent: true, details: true },
  });
  return {
    rows: rows.map((r) => ({ kind: "security" as const, ...r, details: asObject(r.details) })),
    full: rows.length >= DOCTOR_ROW_LIMIT,
  };
}

function asObject(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Everything recorded from one address in the window (the page for clients that never registered). */
export async function evidenceForAddress(deps: DoctorDeps, ip: string, window: Window): Promise<Evidence> {
  const [req, sec] = await Promise.all([requests(deps, window, { ipAddress: ip }), securityEvents(deps, window, { ipAddress: ip })]);
  return assemble(window, [req], [sec]);
}

/**
 * One client's rows (by its row id and, for the rows recorded before a client was known or for a client that
 * does not exist, by the `client_id` string as presented), plus the anonymous steps from the addresses and
 * User-Agents those rows came from.
 */
export async function evidenceForClient(deps: DoctorDeps, ids: { rowId?: string; clientId: string }, window: Window): Promise<Evidence> {
  const keys = [...new Set([ids.rowId, ids.clientId].filter((v): v is string => Boolean(v)))];
  const [own, ownSecurity] = await Promise.all([
    requests(deps, window, { clientId: { in: keys } }),
    securityEvents(deps, window, { clientId: { in: keys } }),
  ]);
  const seen = [...own.rows, ...ownSecurity.rows];
  const addresses = topValues(seen.map((r) => r.ipAddress), MAX_ADDRESSES);
  if (addresses.length === 0) return assemble(window, [own], [ownSecurity]);
  // Same address and same User-Agent: on a shared address (an office, a hosted connector), other programs' steps
  // are left out, in the query, so they cannot crowd this client's out of the row limit.
  const agents = topValues(seen.map((r) => r.userAgent), MAX_AGENTS);
  const sameAgent = seen.some((r) => r.userAgent === null)
    ? { OR: [{ userAgent: { in: agents } }, { userAgent: null }] }
    : { userAgent: { in: agents } };
  const [anonymous, anonymousSecurity] = await Promise.all([
    requests(deps, window, { ipAddress: { in: addresses }, clientId: null, endpoint: { in: ANONYMOUS_STEPS }, ...sameAgent }),
    securityEvents(deps, window, { ipAddress: { in: addresses }, clientId: null, ...sameAgent }),
  ]);
  return assemble(window, [own, anonymous], [ownSecurity, anonymousSecurity]);
}

function topValues(values: Array<string | null>, limit: number): string[] {
  const counts = new Map<string, number>();
  for (const v of values) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, limit).map(([v]) => v);
}

function assemble(
  window: Window,
  requestParts: Array<{ rows: RequestEvidence[]; full: boolean }>,
  securityParts: Array<{ rows: SecurityEvidence[]; full: boolean }>,
): Evidence {
  const byTime = (a: { timestamp: Date; id: string }, b: { timestamp: Date; id: string }) =>
    a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const unique = <T extends { id: string }>(rows: T[]) => [...new Map(rows.map((r) => [r.id, r])).values()];
  return {
    from: window.from,
    to: window.to,
    requests: unique(requestParts.flatMap((p) => p.rows)).sort(byTime),
    security: unique(securityParts.flatMap((p) => p.rows)).sort(byTime),
    truncated: [...requestParts, ...securityParts].some((p) => p.full),
  };
}
