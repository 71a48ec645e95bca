/**
 * Reading and triaging the security events server/analytics records (table AnalyticsSecurity): filter by type,
 * severity, client and time range; mark events reviewed (who and when).
 */
import { Prisma, type PrismaClient } from "../db/client.ts";
import { timeKeysetArgs, toPage, type Page, type PageInput } from "../db/pagination.ts";
import type { Severity } from "../events.ts";
import { clientRowIdOf, rollupRows, utcTimestamp } from "./summaries.ts";

type Deps = { prisma: PrismaClient };

export interface SecurityEventFilter {
  /** One event (the connection doctor links each step to the event behind it). */
  id?: string;
  type?: string;
  severity?: Severity;
  /** A client, by its public `client_id` (what an admin knows) or its row id (what the rows carry): clientRowIdOf. */
  clientId?: string;
  from?: Date;
  to?: Date;
  reviewed?: "all" | "reviewed" | "unreviewed";
  /** Events about one identity provider (their `details.issuer`: refused ID-JAGs). */
  issuer?: string;
}

export interface SecurityEventRow {
  id: string;
  timestamp: Date;
  eventType: string;
  severity: string;
  clientId: string | null;
  userId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  details: unknown;
  reviewedAt: Date | null;
  reviewedById: string | null;
  reviewedByEmail: string | null;
  userEmail: string | null;
  /** The client's name and public `client_id`, when it still exists. */
  clientName: string | null;
  clientPublicId: string | null;
}

function whereOf(filter: SecurityEventFilter, clientId: string | null): Prisma.AnalyticsSecurityWhereInput {
  return {
    ...(filter.id ? { id: filter.id } : {}),
    ...(filter.type ? { eventType: filter.type } : {}),
    ...(filter.severity ? { severity: filter.severity } : {}),
    ...(clientId ? { clientId } : {}),
    ...(filter.from || filter.to
      ? { timestamp: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }
      : {}),
    ...(filter.reviewed === "reviewed" ? { reviewedAt: { not: null } } : {}),
    ...(filter.reviewed === "unreviewed" ? { reviewedAt: null } : {}),
    ...(filter.issuer ? { details: { path: ["issuer"], equals: filter.issuer } } : {}),
  };
}

export async function listSecurityEvents(
  deps: Deps,
  filter: SecurityEventFilter,
  page: PageInput,
): Promise<Page<SecurityEventRow>> {
  const clientId = filter.clientId ? await clientRowIdOf(deps, filter.clientId) : null;
  const where = whereOf(filter, clientId);
  const cursorRow = page.cursor
    ? await deps.prisma.analyticsSecurity.findFirst({ where: { id: page.cursor }, select: { id: true, timestamp: true } })
    : null;
  const keyset = timeKeysetArgs(page, cursorRow);
  const [rows, total] = await Promise.all([
    // A cursor whose row is gone (retention dropped its day) gives an empty page, as Prisma does for a lost cursor.
    page.cursor && !cursorRow
      ? []
      : deps.prisma.analyticsSecurity
          .findMany({ where: { AND: [where, keyset.where] }, orderBy: keyset.orderBy, take: keyset.take })
          .then((found) => (keyset.reverse ? found.reverse() : found)),
    securityEventCount(deps, filter, clientId),
  ]);
  const result = toPage(rows, page, total);
  // The event rows hold plain ids (no relations: events outlive users and clients), so names are looked up in bulk.
  const userIds = unique(result.items.flatMap((r) => [r.userId, r.reviewedById]));
  const clientIds = unique(result.items.map((r) => r.clientId));
  const [users, clients] = await Promise.all([
    userIds.length ? deps.prisma.user.findMany({ where: { id: { in: userIds } }, select: { id: true, email: true } }) : [],
    clientIds.length
      ? deps.prisma.client.findMany({ where: { id: { in: clientIds } }, select: { id: true, clientId: true, name: true } })
      : [],
  ]);
  const emailOf = new Map(users.map((u) => [u.id, u.email]));
  const clientOf = new Map(clients.map((c) => [c.id, c]));
  return {
    ...result,
    items: result.items.map((row) => ({
      ...row,
      userEmail: row.userId ? (emailOf.get(row.userId) ?? null) : null,
      reviewedByEmail: row.reviewedById ? (emailOf.get(row.reviewedById) ?? null) : null,
      clientName: row.clientId ? (clientOf.get(row.clientId)?.name ?? null) : null,
      clientPublicId: row.clientId ? (clientOf.get(row.clientId)?.clientId ?? null) : null,
    })),
  };
}

/**
 * How many events match, as the list would show them. Filters the rollups hold are counted from them rather than by
 * `count(*)` over the raw rows (a rate-limit storm stores millions): by type and severity from
 * AnalyticsSecurityTypeRollup, with a client from AnalyticsSecurityRollup, in whole minutes (`rollupRows`, exact); the
 * partial minutes at either end of the range come from the raw rows (a minute's worth at most). The rollups outlive
 * the raw rows (ANALYTICS_ROLLUP_RETENTION_DAYS against ANALYTICS_RAW_RETENTION_DAYS), so the count starts at the
 * range's first raw row: events the list can no longer show are not in its total. One event, or an identity provider's events
 * (`details`), are counted from the raw rows.
 */
async function securityEventCount(deps: Deps, filter: SecurityEventFilter, clientId: string | null): Promise<number> {
  const countRaw = (range: Pick<SecurityEventFilter, "from" | "to">) => deps.prisma.analyticsSecurity.count({ where: whereOf({ ...filter, ...range }, clientId) });
  if (filter.id || filter.issuer) return countRaw({});
  // The first raw row of the range (its partitions only): before it, the rollups hold nothing the list can show.
  const first = await deps.prisma.analyticsSecurity.findFirst({
    where: whereOf({ from: filter.from, to: filter.to }, null),
    orderBy: { timestamp: "asc" },
    select: { timestamp: true },
  });
  if (!first) return 0;
  const from = first.timestamp;
  const to = filter.to;
  const lo = new Date(Math.ceil(from.getTime() / MINUTE_MS) * MINUTE_MS);
  const hi = to ? new Date(Math.floor(to.getTime() / MINUTE_MS) * MINUTE_MS) : undefined;
  if (hi && hi <= lo) return countRaw({ from, to });
  const conditions: Prisma.Sql[] = [Prisma.sql`true`];
  if (filter.type) conditions.push(Prisma.sql`"eventType" = ${filter.type}`);
  if (filter.severity) conditions.push(Prisma.sql`"severity" = ${filter.severity}`);
  if (clientId) conditions.push(Prisma.sql`"clientId" = ${clientId}`);
  const rows = rollupRows(clientId ? "analytics_security" : "analytics_security_types", utcTimestamp(lo), hi ? utcTimestamp(hi) : Prisma.sql`'infinity'::timestamp`, 86400, true);
  const counted =
    filter.reviewed === "reviewed" ? Prisma.sql`"reviewed"` : filter.reviewed === "unreviewed" ? Prisma.sql`"events" - "reviewed"` : Prisma.sql`"events"`;
  const [[row], head, tail] = await Promise.all([
    deps.prisma.$queryRaw<Array<{ n: bigint | null }>>`SELECT sum(${counted})::bigint AS n FROM ${rows} WHERE ${Prisma.join(conditions, " AND ")}`,
    from < lo ? countRaw({ from, to: lo }) : 0,
    hi && to && hi < to ? countRaw({ from: hi, to }) : 0,
  ]);
  return Number(row?.n ?? 0) + head + tail;
}

const MINUTE_MS = 60_000;

function unique(values: Array<string | null>): string[] {
  return [...new Set(values.filter((v): v is string => Boolean(v)))];
}

/** The event types seen so far (for the filter menu), most frequent first: day rows by type, not the raw rows. */
export async function securityEventTypes(deps: Deps): Promise<string[]> {
  const rows = await deps.prisma.$queryRaw<Array<{ type: string }>>`
    SELECT "eventType" AS type FROM "AnalyticsSecurityTypeRollup" WHERE "grain" = 86400
     GROUP BY 1 HAVING sum("events") > 0 ORDER BY sum("events") DESC, 1 LIMIT 100`;
  return rows.map((r) => r.type);
}

/** Marks events reviewed by `userId` (events already reviewed keep their first reviewer). */
export async function markSecurityEventsReviewed(
  deps: Deps,
  ids: string[],
  userId: string,
  now = new Date(),
): Promise<{ reviewed: number }> {
  const { count } = await deps.prisma.analyticsSecurity.updateMany({
    where: { id: { in: ids }, reviewedAt: null },
    data: { reviewedAt: now, reviewedById: userId },
  });
  return { reviewed: count };
}
