/**
 * The Prisma client over one node-postgres pool (the pool is ours, so its size, timeouts and metrics are too).
 */
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "./generated/client.ts";

export type { PrismaClient } from "./generated/client.ts";
export { Prisma } from "./generated/client.ts";
export type * from "./generated/models.ts";
export * from "./generated/enums.ts";

export interface Database {
  prisma: PrismaClient;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(url: string, options: { max?: number } = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    // A dead database must fail fast, never hang a request (or /api/health) waiting for a connection.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    // Safety net for a query stuck behind a lock or a half-open socket.
    query_timeout: 15_000,
  });
  // An idle client losing its connection (database restart) must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  let closed = false;
  return {
    prisma,
    pool,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}
