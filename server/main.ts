/**
 * Process entry point: `npm start` (production) and `npm run dev`.
 * Reads `.env` when present, parses the configuration once, starts the server and shuts it down gracefully on
 * SIGTERM/SIGINT.
 */
import "dotenv/config";
// First: OpenTelemetry must patch http and pg before anything loads them (on only with OTEL_EXPORTER_OTLP_ENDPOINT).
import "./analytics/tracing.ts";
import { traceLogMixin } from "./analytics/trace-context.ts";
import { EnvError, parseEnv, type Env } from "./env.ts";
import { ensureAuthSecret } from "./auth/secret.ts";
import { createLogger } from "./logger.ts";
import { startServer } from "./http/server.ts";

let env: Env;
try {
  env = parseEnv(process.env);
} catch (error) {
  if (error instanceof EnvError) {
    process.stderr.write(`${error.message}\n\nSee .env.example for every variable.\n`);
    process.exit(1);
  }
  throw error;
}

const log = createLogger(env.LOG_LEVEL, { mixin: traceLogMixin() });
env = ensureAuthSecret(env, log);
if (env.AUTH_DEV_LOGIN) {
  const where = new URL(env.APP_URL).hostname;
  log.warn(
    { appUrl: env.APP_URL },
    `AUTH_DEV_LOGIN=true: anyone who can reach /login can sign in as any email address${/^(localhost|127\.|\[::1\])/.test(where) ? "" : " — and APP_URL is not a loopback address"}`,
  );
}

const started = performance.now();
const server = await startServer(env, { log }).catch((error: unknown) => {
  log.fatal({ err: error }, "server failed to start");
  process.exit(1);
});
log.info({ url: env.APP_URL, port: server.port, startupMs: Math.round(performance.now() - started) }, "server listening");

if (process.env.REMIX_DEV_ORIGIN) {
  // Running under `remix dev`: tell it the new build is being served.
  const { broadcastDevReady } = await import("@remix-run/node");
  const { loadRemixBuild } = await import("./http/remix.ts");
  await broadcastDevReady(await loadRemixBuild());
}

let signals = 0;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    signals += 1;
    if (signals > 1) {
      log.warn("second signal: exiting now");
      process.exit(1);
    }
    log.info({ signal }, "shutdown requested");
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
