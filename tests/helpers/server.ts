/**
 * Starts the real server (host + Remix build + services) on a free port against a fresh test database.
 * Only the outside world is faked (Google, by tests/helpers/fake-google.ts).
 */
import { afterAll } from "vitest";
import { parseEnv, type Env } from "../../server/env.ts";
import { startServer, type RunningServer } from "../../server/http/server.ts";
import { loadRemixBuild } from "../../server/http/remix.ts";
import { createLogger, type Logger } from "../../server/logger.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

/**
 * Servers to close (and databases to drop) when the file's tests are done. One file-level hook, registered when a
 * test file imports this module: `afterAll` called inside a test body (where most tests start their servers) is
 * silently never run by vitest, which left every such server running and its database behind.
 */
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

export const TEST_AUTH_SECRET = "test-secret-test-secret-test-secret-0123456789";

export interface TestServer extends RunningServer {
  env: Env;
  database: TestDatabase;
}

export function testEnv(overrides: Record<string, string | undefined> = {}): Env {
  return parseEnv({
    NODE_ENV: "test",
    AUTH_SECRET: TEST_AUTH_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...overrides,
  });
}

/**
 * Starts a server; closed automatically after the file's tests. Pass `database` to share one database between
 * several servers (horizontal scaling tests). `APP_URL` defaults to the server's own address.
 */
export async function startTestServer(
  overrides: Record<string, string | undefined> = {},
  options: { database?: TestDatabase; log?: Logger; autoClose?: boolean } = {},
): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const build = await loadRemixBuild();
  // The listening port is only known after listen(); APP_URL must match it, so reserve one first.
  const { freePort } = await import("../../server/db/embedded.ts");
  const port = Number(overrides.PORT ?? (await freePort()));
  const env = testEnv({ APP_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, PORT: String(port), ...overrides });
  const log = options.log ?? createLogger(env.LOG_LEVEL);
  const server = await startServer(env, { build, log, port, host: "127.0.0.1", migrate: false });
  const testServer: TestServer = { ...server, env, database };
  if (options.autoClose !== false) {
    cleanups.push(async () => {
      await server.close(2_000);
      if (!options.database) await database.drop();
    });
  }
  return testServer;
}

/**
 * Waits (bounded, 5 s) until `server`'s client cache no longer holds `clientId`: a change written on another
 * connection (another node, SQL, a test's own Prisma update) reaches the cache by the database's notification, a
 * moment after its commit; a change made through the admin functions empties the entry at once.
 */
export async function untilClientCacheForgets(server: TestServer, clientId: string): Promise<void> {
  const cache = server.services.oauth.clientCache;
  for (const until = Date.now() + 5_000; cache.get(clientId) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
  if (cache.get(clientId)) throw new Error(`the client cache still holds ${clientId} 5 s after its change`);
}
