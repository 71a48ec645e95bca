/**
 * The dashboard's "failed connections": the clients (and, for callers never identified, the addresses) that tried
 * and failed in a range, grouped by cause. Two grouped queries over the range (the `(timestamp)` and
 * `(endpoint, timestamp)` indexes), each capped at SUMMARY_GROUP_LIMIT groups; the range itself is capped at
 * SUMMARY_MAX_RANGE_MS (raw rows; hourly rollups may replace this read later). Each group is mapped to a cause by
 * the same rules as the timelines (rules.ts), so the summary and a client's doctor page agree.
 */
import { Prisma } from "../db/client.ts";
import { CAUSES, type CauseId } from "./causes.ts";
import type { DoctorDeps, Evidence } from "./evidence.ts";
import { causeOfRequest, causeOfSecurityEvent } from "./rules.ts";
import { stepOf } from "./steps.ts";

export const SUMMARY_MAX_RANGE_MS = 7 * 24 * 3600_000;
const SUMMARY_GROUP_LIMIT = 500;
/** The 401s without a token are scanned over the last day of the range at most (MCP traffic is the bulk of the rows). */
const CHALLENGE_SCAN_MS = 24 * 3600_000;
/** The steps that show a client followed the 401's challenge (timeline.ts waits as long). */
const FOLLOW_UP_ROUTES = [
  "/.well-known/oauth-protected-resource",
  "/.well-known/oauth-protected-resource/*",
  "/.well-known/oauth-authorization-server",
  "/.well-known/openid-configuration",
  "/api/oauth/register",
  "/oauth/authorize",
  "/api/oauth/token",
];

/** The routes of a connection's steps whose refusals count here. */
const STEP_ROUTES = [
  "/.well-known/oauth-protected-resource",
  "/.well-known/oauth-protected-resource/*",
  "/.well-known/oauth-authorization-server",
  "/oauth/authorize",
  "/api/oauth/register",
  "/api/oauth/token",
  "/mcp/mcp",
  "/mcp/sse",
  "/mcp/message",
];

/** Causes a request row shares with a security event recorded with it: the event (with its reason) counts. */
const EVENT_EXPLAINED = new Set<CauseId>(["invalid_token", "origin_refused"]);

export interface FailedSubject {
  kind: "client" | "unknown_client" | "address";
  /** The Client row id, for a client that exists. */
  clientDbId: string | null;
  /** The public client_id (or the string presented, for an unknown client). */
  clientId: string | null;
  name: string | null;
  ipAddress: string | null;
  count: number;
  lastSeen: Date;
}

export interface FailedCause {
  causeId: CauseId;
  cause: string;
  fix: string;
  count: number;
  subjects: FailedSubject[];
}

export interface FailedConnections {
  from: Date;
  to: Date;
  /** The range asked for was longer than SUMMARY_MAX_RANGE_MS. */
  capped: boolean;
  causes: FailedCause[];
}

interface SecurityGroup {
  eventType: string;
  reason: string | null;
  endpoint: string | null;
  clientId: string | null;
  ipAddress: string | null;
  n: number;
  last: Date;
}

interface RequestGroup {
  method: string;
  endpoint: string;
  statusCode: number;
  oauthError: string | null;
  clientId: string | null;
  ipAddress: string | null;
  n: number;
  last: Date;
}

const NO_EVIDENCE: Evidence = { from: new Date(0), to: new Date(0), requests: [], security: [], truncated: false };

export async function failedConnections(deps: DoctorDeps, range: { from: Date; to: Date }, appUrl: string): Promise<FailedConnections> {
  const capped = range.to.getTime() - range.from.getTime() > SUMMARY_MAX_RANGE_MS;
  const from = capped ? new Date(range.to.getTime() - SUMMARY_MAX_RANGE_MS) : range.from;
  const { to } = range;
  const [security, requests] = await Promise.all([
    deps.prisma.$queryRaw<SecurityGroup[]>(Prisma.sql`
      SELECT "eventType", details->>'reason' AS reason, details->>'endpoint' AS endpoint, "clientId",
             CASE WHEN "clientId" IS NULL THEN "ipAddress" END AS "ipAddress", count(*)::int AS n, max("timestamp") AS last
        FROM "AnalyticsSecurity"
       WHERE "timestamp" >= ${from} AND "timestamp" < ${to} AND "eventType" <> 'ADMIN_ACTION'
       GROUP BY 1, 2, 3, 4, 5 ORDER BY n DESC LIMIT ${SUMMARY_GROUP_LIMIT}`),
    deps.prisma.$queryRaw<RequestGroup[]>(Prisma.sql`
      SELECT method, endpoint, "statusCode", "oauthError", "clientId",
             CASE WHEN "clientId" IS NULL THEN "ipAddress" END AS "ipAddress", count(*)::int AS n, max("timestamp") AS last
        FROM "AnalyticsRequest"
       WHERE "timestamp" >= ${from} AND "timestamp" < ${to} AND endpoint IN (${Prisma.join(STEP_ROUTES)})
         AND "statusCode" >= 400 AND "statusCode" < 500 AND NOT ("statusCode" = 401 AND "oauthError" IS NULL)
       GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY n DESC LIMIT ${SUMMARY_GROUP_LIMIT}`),
  ]);

  const tally = new Tally();
  /** `<subject>|<step>` pairs a security event explains: the request rows refused there add no second cause. */
  const explained = new Set<string>();
  for (const g of security) {
    const verdict = causeOfSecurityEvent(
      {
        kind: "security",
        id: "",
        timestamp: g.last,
        eventType: g.eventType,
        severity: "",
        clientId: g.clientId,
        ipAddress: g.ipAddress,
        userAgent: null,
        details: { reason: g.reason, endpoint: g.endpoint },
      },
      NO_EVIDENCE,
      { appUrl },
    );
    if (!verdict.causeId) continue;
    for (const kind of verdict.kinds) explained.add(`${subjectKey(g)}|${kind}`);
    tally.add(verdict.causeId, g);
  }
  for (const g of requests) {
    const row = { kind: "request" as const, id: "", timestamp: g.last, responseTime: 0, userAgent: null, ...g };
    const causeId = causeOfRequest(row);
    if (!causeId || EVENT_EXPLAINED.has(causeId)) continue;
    if (causeId !== "rate_limited" && explained.has(`${subjectKey(g)}|${stepOf(row)?.id}`)) continue;
    tally.add(causeId, g);
  }
  for (const g of await challengesNotFollowed(deps, { from: new Date(Math.max(from.getTime(), to.getTime() - CHALLENGE_SCAN_MS)), to })) {
    tally.add("discovery_not_reached", { clientId: null, ...g });
  }
  return { from, to, capped, causes: await tally.resolve(deps, { from, to }) };
}

function subjectKey(g: { clientId: string | null; ipAddress: string | null }): string {
  return g.clientId ? `c:${g.clientId}` : `a:${g.ipAddress ?? ""}`;
}

class Tally {
  private readonly byCause = new Map<CauseId, Map<string, { clientId: string | null; ipAddress: string | null; count: number; lastSeen: Date }>>();

  add(causeId: CauseId, g: { clientId: string | null; ipAddress: string | null; n: number; last: Date }): void {
    let subjects = this.byCause.get(causeId);
    if (!subjects) this.byCause.set(causeId, (subjects = new Map()));
    const key = subjectKey(g);
    const seen = subjects.get(key);
    // A refusal is often both a request row and a security event: the larger count, not the sum.
    if (!seen) subjects.set(key, { clientId: g.clientId, ipAddress: g.ipAddress, count: g.n, lastSeen: new Date(g.last) });
    else {
      seen.count = Math.max(seen.count, g.n);
      if (new Date(g.last) > seen.lastSeen) seen.lastSeen = new Date(g.last);
    }
  }

  /**
   * Names the clients (by row id or by the client_id presented) in one query. A refusal recorded before the
   * client was known (an Origin, a rate limit, the host) carries only an address: when exactly one client made
   * requests from that address in the range, it is counted as that client's.
   */
  async resolve(deps: DoctorDeps, range: { from: Date; to: Date }): Promise<FailedCause[]> {
    const addresses = [...new Set([...this.byCause.values()].flatMap((m) => [...m.values()].filter((s) => !s.clientId && s.ipAddress).map((s) => s.ipAddress!)))];
    const owners = await clientsByAddress(deps, addresses.slice(0, 200), range);
    for (const subjects of this.byCause.values()) {
      for (const s of subjects.values()) if (!s.clientId && s.ipAddress && owners.has(s.ipAddress)) s.clientId = owners.get(s.ipAddress)!;
    }
    const ids = [...new Set([...this.byCause.values()].flatMap((m) => [...m.values()].map((s) => s.clientId)).filter((v): v is string => Boolean(v)))];
    const clients = ids.length
      ? await deps.prisma.client.findMany({
          where: { OR: [{ id: { in: ids } }, { clientId: { in: ids } }] },
          select: { id: true, clientId: true, name: true },
        })
      : [];
    const byKey = new Map<string, (typeof clients)[number]>();
    for (const c of clients) {
      byKey.set(c.id, c);
      byKey.set(c.clientId, c);
    }
    const causes: FailedCause[] = [];
    for (const [causeId, subjects] of this.byCause) {
      const merged = new Map<string, FailedSubject>();
      for (const s of subjects.values()) {
        const client = s.clientId ? byKey.get(s.clientId) : undefined;
        const subject: FailedSubject = client
          ? { kind: "client", clientDbId: client.id, clientId: client.clientId, name: client.name, ipAddress: null, count: s.count, lastSeen: s.lastSeen }
          : s.clientId
            ? { kind: "unknown_client", clientDbId: null, clientId: s.clientId, name: null, ipAddress: null, count: s.count, lastSeen: s.lastSeen }
            : { kind: "address", clientDbId: null, clientId: null, name: null, ipAddress: s.ipAddress, count: s.count, lastSeen: s.lastSeen };
        // A client counted under its row id and its client_id string is one client.
        const key = subject.clientDbId ?? subject.clientId ?? `a:${subject.ipAddress}`;
        const seen = merged.get(key);
        if (!seen) merged.set(key, subject);
        else {
          seen.count = Math.max(seen.count, subject.count);
          if (subject.lastSeen > seen.lastSeen) seen.lastSeen = subject.lastSeen;
        }
      }
      const list = [...merged.values()].sort((a, b) => b.lastSeen.getTime() - a.lastSeen.getTime());
      causes.push({ causeId, ...CAUSES[causeId], count: list.reduce((sum, s) => sum + s.count, 0), subjects: list.slice(0, 20) });
    }
    return causes.sort((a, b) => b.subjects.length - a.subjects.length || b.count - a.count);
  }
}

/** The one client each address made requests as in the range (addresses used by several clients are left out). */
async function clientsByAddress(deps: DoctorDeps, addresses: string[], range: { from: Date; to: Date }): Promise<Map<string, string>> {
  if (addresses.length === 0) return new Map();
  const rows = await deps.prisma.$queryRaw<Array<{ ipAddress: string; clientId: string }>>(Prisma.sql`
    SELECT DISTINCT "ipAddress", "clientId" FROM "AnalyticsRequest"
     WHERE "ipAddress" IN (${Prisma.join(addresses)}) AND "clientId" IS NOT NULL
       AND "timestamp" >= ${range.from} AND "timestamp" < ${range.to}
     LIMIT 1000`);
  const owners = new Map<string, string | null>();
  for (const r of rows) owners.set(r.ipAddress, owners.has(r.ipAddress) ? null : r.clientId);
  return new Map([...owners].filter((e): e is [string, string] => e[1] !== null));
}

/**
 * Addresses whose MCP request without a token (the 401 that starts OAuth) was not followed, within two minutes, by
 * any discovery, registration, authorization or token request from that address: the challenge did not reach the
 * client, or its metadata did not (timeline.ts `discovery_not_reached`). The follow-up lookup uses
 * `(ipAddress, timestamp)`.
 */
async function challengesNotFollowed(deps: DoctorDeps, range: { from: Date; to: Date }): Promise<Array<{ ipAddress: string | null; n: number; last: Date }>> {
  return deps.prisma.$queryRaw(Prisma.sql`
    SELECT c."ipAddress", count(*)::int AS n, max(c."timestamp") AS last
      FROM "AnalyticsRequest" c
     WHERE c."timestamp" >= ${range.from} AND c."timestamp" < ${range.to}
       AND c.endpoint IN ('/mcp/mcp', '/mcp/sse') AND c."statusCode" = 401 AND c."oauthError" IS NULL AND c."ipAddress" IS NOT NULL
       AND NOT EXISTS (
         SELECT 1 FROM "AnalyticsRequest" d
          WHERE d."ipAddress" = c."ipAddress" AND d."timestamp" >= c."timestamp" AND d."timestamp" < c."timestamp" + interval '2 minutes'
            AND d.endpoint IN (${Prisma.join(FOLLOW_UP_ROUTES)}))
     GROUP BY 1 ORDER BY n DESC LIMIT ${SUMMARY_GROUP_LIMIT}`);
}
