// `npm run db:migrate`: applies prisma/migrations to DATABASE_URL (or to the embedded PostgreSQL when it is unset).
import "dotenv/config";
import { startEmbeddedPostgres } from "../server/db/embedded.ts";
import { migrate } from "../server/db/migrate.ts";
import { EnvError, parseEnv } from "../server/env.ts";
import { createLogger } from "../server/logger.ts";

try {
  const env = parseEnv(process.env);
  const log = createLogger(env.LOG_LEVEL === "silent" ? "info" : env.LOG_LEVEL);
  const embedded = env.DATABASE_URL ? undefined : await startEmbeddedPostgres(env.DATA_DIR, log);
  try {
    const applied = await migrate(env.DATABASE_URL ?? embedded!.url);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "Database is up to date.");
  } finally {
    await embedded?.stop();
  }
} catch (error) {
  console.error(error instanceof EnvError ? error.message : `Migration failed: ${(error as Error).message}`);
  process.exit(1);
}
