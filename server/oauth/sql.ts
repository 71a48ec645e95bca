/**
 * Plain SQL for the token endpoint's hot path. The Prisma client (query compiler in WebAssembly) costs about 1 ms of
 * CPU per query here, ten times a node-postgres query (bench/token.ts); the grants' claim-and-issue steps are single
 * statements with data-modifying CTEs, so one round trip does what an interactive transaction did in eight.
 *
 * Hot statements are named (`statement()`): node-postgres then parses and plans each once per connection and sends
 * only its name and values afterwards (PostgreSQL protocol: extended query, named prepared statement), which spares
 * PostgreSQL the parse on every request; on this 2-core machine that CPU is shared with the server itself.
 *
 * Timestamps: Prisma stores DateTime as `timestamp(3)` WITHOUT time zone holding UTC. node-postgres would read and
 * write such values in the process's local time zone, so dates go in as ISO strings and come back parsed as UTC.
 */
import pg from "pg";
import { randomFill } from "../crypto.ts";

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

/** A named prepared statement (see above). Names are unique: one per statement text. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

const statementNames = new Map<string, string>();

export function statement(name: string, text: string): Statement {
  const known = statementNames.get(name);
  if (known !== undefined && known !== text) throw new Error(`two SQL statements named ${name}`);
  statementNames.set(name, text);
  return { name, text };
}

export async function query<T extends pg.QueryResultRow>(pool: pg.Pool, sql: string | Statement, values: SqlValue[] = []): Promise<T[]> {
  const result = await pool.query<T>({
    ...(typeof sql === "string" ? { text: sql } : { name: sql.name, text: sql.text }),
    values: values.map((v) => (v instanceof Date ? v.toISOString() : v)),
    types: types as pg.CustomTypesConfig,
  });
  return result.rows;
}

const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";

/**
 * A new row id in the shape of Prisma's cuid() ("c" + 24 characters of [0-9a-z]), time-ordered: 9 characters of
 * milliseconds (base 36, good until the year 5188) then 15 random ones (≈77 bits, pooled randomness). Rows inserted
 * together land side by side in the primary key's B-tree instead of on random pages.
 */
export function newId(now = Date.now()): string {
  let out = now.toString(36).padStart(9, "0");
  const bytes = randomFill(15);
  for (let i = 0; i < 15; i++) out += BASE36[bytes[i]! % 36];
  return "c" + out;
}
