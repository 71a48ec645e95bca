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
  /** The public OAuth client_id recorded with the event. */
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
}

function whereOf(filter: SecurityEventFilter): Prisma.AnalyticsSecurityWhereInput {
  return {
    ...(filter.type ? { eventType: filter.type } : {}),
    ...(filter.severity ? { severity: filter.severity } : {}),
    ...(filter.clientId ? { clientId: filter.clientId } : {}),
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
  const where = whereOf(filter);
  const [rows, total] = await Promise.all([
    deps.prisma.analyticsSecurity.findMany({ where, orderBy: [{ timestamp: "desc" }, { id: "desc" }], ...pageArgs(page) }),
    deps.prisma.analyticsSecurity.count({ where }),
  ]);
  const result = toPage(rows, page, total);
  // reviewedById is a plain column (no relation), so the reviewers' emails are looked up in one query.
  const reviewerIds = [...new Set(result.items.map((r) => r.reviewedById).filter((id): id is string => Boolean(id)))];
  const reviewers = reviewerIds.length
    ? await deps.prisma.user.findMany({ where: { id: { in: reviewerIds } }, select: { id: true, email: true } })
    : [];
  const emailOf = new Map(reviewers.map((u) => [u.id, u.email]));
  return {
    ...result,
    items: result.items.map((row) => ({
      ...row,
      reviewedByEmail: row.reviewedById ? (emailOf.get(row.reviewedById) ?? null) : null,
    })),
  };
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
