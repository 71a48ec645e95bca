/**
 * Reading and triaging the security events server/analytics records (table AnalyticsSecurity): filter by type,
 * severity, client and time range; mark events reviewed (who and when).
 */
import type { Prisma } from "../db/client.ts";
import { pageArgs, toPage, type Page, type PageInput } from "../db/pagination.ts";
import type { Severity } from "../events.ts";
import type { Services } from "../services.ts";
import { clientRowIdOf } from "./queries.ts";

type Deps = Pick<Services, "prisma">;

export interface SecurityEventFilter {
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
  const where = whereOf(filter, filter.clientId ? await clientRowIdOf(deps, filter.clientId) : null);
  const [rows, total] = await Promise.all([
    deps.prisma.analyticsSecurity.findMany({ where, orderBy: [{ timestamp: "desc" }, { id: "desc" }], ...pageArgs(page) }),
    deps.prisma.analyticsSecurity.count({ where }),
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

function unique(values: Array<string | null>): string[] {
  return [...new Set(values.filter((v): v is string => Boolean(v)))];
}

/** The event types seen so far (for the filter menu), most frequent first. */
export async function securityEventTypes(deps: Deps): Promise<string[]> {
  const groups = await deps.prisma.analyticsSecurity.groupBy({
    by: ["eventType"],
    _count: { _all: true },
    orderBy: { _count: { eventType: "desc" } },
    take: 100,
  });
  return groups.map((g) => g.eventType);
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
