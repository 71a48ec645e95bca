/**
 * Plain SQL for the token endpoint's hot path. The Prisma client (query compiler in WebAssembly) costs about 1 ms of
 * CPU per query here, ten times a node-postgres query (bench/token.ts); the grants' claim-and-issue steps are single
 * statements with data-modifying CTEs, so one round trip does what an interactive transaction did in eight.
 *
 * Timestamps: Prisma stores DateTime as `timestamp(3)` WITHOUT time zone holding UTC. node-postgres would read and
 * write such values in the process's local time zone, so dates go in as ISO strings and come back parsed as UTC.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

const TIMESTAMP_OID = 1114;

function parseUtcTimestamp(value: string): Date {
  return new Date(value.replace(" ", "T") + "Z");
}

const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === TIMESTAMP_OID && format !== "binary") return parseUtcTimestamp;
    return format === "binary" ? pg.types.getTypeParser(oid, "binary") : pg.types.getTypeParser(oid, "text");
  },
};

/** A parameter value: Dates become UTC ISO strings (see above). */
export type SqlValue = string | number | boolean | null | Date | string[];

export async function query<T extends pg.QueryResultRow>(pool: pg.Pool, text: string, values: SqlValue[] = []): Promise<T[]> {
  const result = await pool.query<T>({
    text,
    values: values.map((v) => (v instanceof Date ? v.toISOString() : v)),
    types: types as pg.CustomTypesConfig,
  });
  return result.rows;
}

/** A new row id in the shape of Prisma's cuid(): "c" + 24 base-36 characters (≈124 random bits). */
export function newId(): string {
  const bytes = randomBytes(16);
  let n = BigInt("0x" + bytes.toString("hex"));
  let out = "";
  for (let i = 0; i < 24; i++) {
    out += (n % 36n).toString(36);
    n /= 36n;
  }
  return "c" + out;
}
