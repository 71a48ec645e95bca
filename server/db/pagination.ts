/**
 * Cursor (keyset) pagination for Prisma lists: newest first, ordered by a timestamp then the row id; the cursor is
 * the id of the row a page starts after (`direction: "forward"`) or ends before (`"backward"`). Unlike offsets, a
 * page stays correct while rows are added at the top. The tRPC input schema is server/trpc/pagination.ts.
 */

export interface PageInput {
  cursor?: string;
  direction: "forward" | "backward";
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `cursor` (forward) for the next, older page; null on the last page. */
  nextCursor: string | null;
  /** Pass as `cursor` with `direction: "backward"` for the previous, newer page; null on the first page. */
  prevCursor: string | null;
  total: number;
}

/** The Prisma `findMany` arguments for one page (callers add `where`, `orderBy`, `select`). */
export function pageArgs(page: PageInput): { cursor?: { id: string }; skip?: number; take: number } {
  const take = page.limit + 1;
  return page.cursor
    ? { cursor: { id: page.cursor }, skip: 1, take: page.direction === "backward" ? -take : take }
    : { take };
}

/**
 * Keyset paging for a table partitioned by time, whose rows are unique by (id, timestamp) only (AnalyticsSecurity,
 * AnalyticsRequest), listed newest first by (timestamp, id): the cursor stays the row id; `cursorRow` is that row,
 * looked up by the caller. A page is `WHERE (timestamp, id) < (cursor)` (or `>` going back) in index order, so
 * its cost does not grow with how deep it is. Rows come back as toPage expects them (backward: the extra row first).
 */
export function timeKeysetArgs(
  page: PageInput,
  cursorRow: { id: string; timestamp: Date } | null | undefined,
): {
  where: { OR?: Array<Record<string, unknown>> };
  orderBy: Array<{ timestamp: "asc" | "desc" } | { id: "asc" | "desc" }>;
  take: number;
  reverse: boolean;
} {
  const take = page.limit + 1;
  if (!cursorRow) return { where: {}, orderBy: [{ timestamp: "desc" }, { id: "desc" }], take, reverse: false };
  const { id, timestamp } = cursorRow;
  return page.direction === "backward"
    ? {
        where: { OR: [{ timestamp: { gt: timestamp } }, { timestamp, id: { gt: id } }] },
        orderBy: [{ timestamp: "asc" }, { id: "asc" }],
        take,
        reverse: true,
      }
    : {
        where: { OR: [{ timestamp: { lt: timestamp } }, { timestamp, id: { lt: id } }] },
        orderBy: [{ timestamp: "desc" }, { id: "desc" }],
        take,
        reverse: false,
      };
}

/**
 * Trims the extra row fetched to learn whether there is more, and works out both cursors. With a backward cursor
 * Prisma returns rows in the requested order, the extra one first.
 */
export function toPage<T extends { id: string }>(rows: T[], page: PageInput, total: number): Page<T> {
  const more = rows.length > page.limit;
  const backward = Boolean(page.cursor) && page.direction === "backward";
  const items = more ? (backward ? rows.slice(1) : rows.slice(0, page.limit)) : rows;
  const first = items[0]?.id ?? null;
  const last = items.at(-1)?.id ?? null;
  return {
    items,
    nextCursor: backward ? last : more ? last : null,
    prevCursor: backward ? (more ? first : null) : page.cursor ? first : null,
    total,
  };
}
