/**
 * The periodic sweep of expired authorization data in bounded slices: codes, access and refresh tokens a day past
 * expiry (redeemed codes are kept that long so a late reuse is still detected, RFC 6749 §4.1.2), grants with nothing
 * left, sealed successor responses once the reuse grace window is over, and expired browser sessions. Each statement
 * touches at most SLICE rows through an index (`expiresAt`, `createdAt`, ...), so a backlog of millions (a sweep
 * that did not run for a while, a token storm) never holds long locks, bloats one transaction or stalls the token
 * endpoint; a run stops after its time budget and the next one goes on.
 */
import type pg from "pg";

export const SWEEP_SLICE = 5_000;
const BUDGET_MS = 20_000;

export interface ExpiredSweepResult {
  codes: number;
  accessTokens: number;
  refreshTokens: number;
  grants: number;
  successorBoxes: number;
}

/**
 * Runs `statement` (which must touch at most `slice` rows, `$1` being the cutoff and `$2` the slice size) until it
 * touches fewer than a slice or the deadline passes; returns the rows touched.
 */
export async function inSlices(
  pool: pg.Pool,
  statement: string,
  cutoff: Date,
  deadline: number,
  slice = SWEEP_SLICE,
): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(statement, [cutoff.toISOString(), slice]);
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < slice || Date.now() > deadline) return total;
  }
}

// Timestamps are stored as UTC `timestamp(3)` (Prisma's convention): the cutoff is converted explicitly.
const AT = `($1::timestamptz AT TIME ZONE 'UTC')`;

export async function sweepExpired(
  pool: pg.Pool,
  options: { now?: Date; reuseGraceSeconds: number; slice?: number; budgetMs?: number },
): Promise<ExpiredSweepResult> {
  const now = options.now ?? new Date();
  const deadline = Date.now() + (options.budgetMs ?? BUDGET_MS);
  const dayAgo = new Date(now.getTime() - 24 * 3600_000);
  const slice = options.slice ?? SWEEP_SLICE;
  const expired = (table: string) =>
    `DELETE FROM "${table}" WHERE id IN (SELECT id FROM "${table}" WHERE "expiresAt" < ${AT} LIMIT $2)`;
  const codes = await inSlices(pool, expired("AuthorizationCode"), dayAgo, deadline, slice);
  const accessTokens = await inSlices(pool, expired("AccessToken"), dayAgo, deadline, slice);
  const refreshTokens = await inSlices(pool, expired("RefreshToken"), dayAgo, deadline, slice);
  const successorBoxes = await inSlices(
    pool,
    `UPDATE "RefreshToken" SET "successorBox" = NULL WHERE id IN (
       SELECT id FROM "RefreshToken" WHERE "successorBox" IS NOT NULL AND "rotatedAt" < ${AT} LIMIT $2)`,
    new Date(now.getTime() - options.reuseGraceSeconds * 1000),
    deadline,
    slice,
  );
  const grants = await inSlices(
    pool,
    `DELETE FROM "Grant" WHERE id IN (
       SELECT g.id FROM "Grant" g
        WHERE g."createdAt" < ${AT}
          AND NOT EXISTS (SELECT 1 FROM "AccessToken" a WHERE a."grantId" = g.id)
          AND NOT EXISTS (SELECT 1 FROM "RefreshToken" r WHERE r."grantId" = g.id)
          AND NOT EXISTS (SELECT 1 FROM "AuthorizationCode" c WHERE c."grantId" = g.id)
        LIMIT $2)`,
    dayAgo,
    deadline,
    slice,
  );
  return { codes, accessTokens, refreshTokens, grants, successorBoxes };
}

/** Expired browser sessions, in slices. */
export function sweepExpiredSessions(pool: pg.Pool, now = new Date(), slice = SWEEP_SLICE): Promise<number> {
  return inSlices(
    pool,
    `DELETE FROM "Session" WHERE id IN (SELECT id FROM "Session" WHERE "expires" <= ${AT} LIMIT $2)`,
    now,
    Date.now() + BUDGET_MS,
    slice,
  );
}
