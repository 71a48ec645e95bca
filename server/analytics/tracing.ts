/**
 * OpenTelemetry tracing (sdk-node 0.223, the last line for Node 20). Process-global by nature, so it is started once,
 * by importing this module first in server/main.ts, before anything that loads `http` or `pg`.
 *
 * On only when OTEL_EXPORTER_OTLP_ENDPOINT is set: spans then go over OTLP/HTTP to `<endpoint>/v1/traces` (the
 * standard OTEL_* variables apply: OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, OTEL_BSP_SCHEDULE_DELAY, ...). Off, nothing
 * is registered and the API stays a no-op.
 *
 * What is traced: HTTP server and client spans (instrumentation-http; the subscriber names the server span after
 * the route pattern), database spans (instrumentation-pg, without query parameters), and OAuth/MCP steps, created from the
 * domain events by the analytics subscriber and by `services.analytics.span()` where the domain wraps a step.
 */
import "dotenv/config";
import { createRequire } from "node:module";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { NodeSDK } from "@opentelemetry/sdk-node";
import { markTracingActive } from "./trace-context.ts";

let sdk: NodeSDK | undefined;

/**
 * Starts the SDK if OTEL_EXPORTER_OTLP_ENDPOINT is set; idempotent. Called on import, so importing this module first
 * is all main.ts does.
 */
export function startTracing(env: Record<string, string | undefined> = process.env): boolean {
  if (sdk) return true;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint || env.OTEL_SDK_DISABLED === "true") return false;
  sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME?.trim() || "mcp-oauth-server",
    traceExporter: new OTLPTraceExporter(),
    // Traces only: metrics are served by /metrics (prom-client), logs are pino lines on stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      // The server span is named after the route pattern by the analytics subscriber (RPC metadata `route`, as the
      // Express instrumentation does), never after the raw path.
      new HttpInstrumentation(),
      // Statement text only (parameterised by Prisma and by us), never the values bound to it.
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  sdk.start();
  markTracingActive(true);
  // Prototype patches apply to modules loaded through `require`; an ESM `import` of these CommonJS modules
  // bypasses the hook, so load them once here (same module instances the app's imports get).
  const require = createRequire(import.meta.url);
  for (const name of ["http", "https", "pg", "pg-pool"]) {
    try {
      require(name);
    } catch {
      /* optional */
    }
  }
  return true;
}

/** Stops the SDK (process exit). */
export async function stopTracing(): Promise<void> {
  const running = sdk;
  sdk = undefined;
  markTracingActive(false);
  await running?.shutdown().catch(() => {});
}

startTracing();
