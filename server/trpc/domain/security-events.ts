/**
 * Reading and triaging the security events server/analytics records (table AnalyticsSecurity): filter by type,
 * severity, client and time range; mark events reviewed (who and when).
 */
import type { Prisma } from "../../db/client.ts";
import type { Severity } from "../../events.ts";
import type { Services } from "../../services.ts";
import { pageArgs, toPage, type Page, type PageInput } from "../pagination.ts";

type Deps = Pick<Services, "prisma">;

export interface SecurityEventFilter {
  type?: string;
  severity?: Severity;
  /** A client, by its row id (what OAuth events carry) or its public `client_id`. */
  clientId?: string;
  from?: Date;
  to?: Date;
  reviewed?: "all" | "reviewed" | "unreviewed";
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
  clientName: string | null;
  /** The Client row's id (for a link to its page), when the client still exists. */
  clientRowId: string | null;
}

/**
 * Events name a client by whatever id their emitter had: the Client row id (OAuth events, server/oauth/emit.ts) or
 * the public `client_id`. A filter value matches both ids of the client it names.
 */
async function clientKeys(deps: Deps, value: string): Promise<string[]> {
  const client = await deps.prisma.client.findFirst({
    where: { OR: [{ id: value }, { clientId: value }] },
    select: { id: true, clientId: true },
  });
  return client ? [client.id, client.clientId] : [value];
}

function whereOf(filter: SecurityEventFilter, clientIds: string[] | null): Prisma.AnalyticsSecurityWhereInput {
  return {
    ...(filter.type ? { eventType: filter.type } : {}),
    ...(filter.severity ? { severity: filter.severity } : {}),
    ...(clientIds ? { clientId: { in: clientIds } } : {}),
    ...(filter.from || filter.to
      ? { timestamp: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } }
      : {}),
    ...(filter.reviewed === "reviewed" ? { reviewedAt: { not: null } } : {}),
    ...(filter.reviewed === "unreviewed" ? { reviewedAt: null } : {}),
  };
}

export async function listSecurityEvents(
  deps: Deps,
  filter: SecurityEventFilter,
  page: PageInput,
): Promise<Page<SecurityEventRow>> {
  const where = whereOf(filter, filter.clientId ? await clientKeys(deps, filter.clientId) : null);
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
      ? deps.prisma.client.findMany({
          where: { OR: [{ id: { in: clientIds } }, { clientId: { in: clientIds } }] },
          select: { id: true, clientId: true, name: true },
        })
      : [],
  ]);
  const emailOf = new Map(users.map((u) => [u.id, u.email]));
  const clientOf = new Map(clients.flatMap((c) => [[c.id, c] as const, [c.clientId, c] as const]));
  return {
    ...result,
    items: result.items.map((row) => ({
      ...row,
      userEmail: row.userId ? (emailOf.get(row.userId) ?? null) : null,
      reviewedByEmail: row.reviewedById ? (emailOf.get(row.reviewedById) ?? null) : null,
      clientName: row.clientId ? (clientOf.get(row.clientId)?.name ?? null) : null,
      clientRowId: row.clientId ? (clientOf.get(row.clientId)?.id ?? null) : null,
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
