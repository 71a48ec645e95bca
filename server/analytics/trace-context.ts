/**
 * The light half of tracing: what the rest of the server needs to know about it, without loading the SDK. The SDK
 * itself is started by tracing.ts (imported first by server/main.ts), which marks it active here.
 */
import { trace, type Span } from "@opentelemetry/api";

export const TRACER_NAME = "mcp-oauth-server";

let active = false;

export function markTracingActive(value: boolean): void {
  active = value;
}

/** Whether spans are recorded and exported (OTEL_EXPORTER_OTLP_ENDPOINT was set when the process started). */
export function tracingActive(): boolean {
  return active;
}

/** Exports the spans still buffered (graceful shutdown). */
export async function flushTracing(): Promise<void> {
  if (!active) return;
  const provider = trace.getTracerProvider() as { getDelegate?: () => unknown; forceFlush?: () => Promise<void> };
  const delegate = (provider.getDelegate?.() ?? provider) as { forceFlush?: () => Promise<void> };
  await delegate.forceFlush?.().catch(() => {});
}

/**
 * pino `mixin`: every log line written inside a traced request carries its trace and span ids, so a log line leads
 * to its trace and back. Undefined (no cost at all) when tracing is off.
 */
export function traceLogMixin(): (() => Record<string, unknown>) | undefined {
  if (!active) return undefined;
  return () => {
    const span: Span | undefined = trace.getActiveSpan();
    if (!span) return {};
    const { traceId, spanId } = span.spanContext();
    return { trace_id: traceId, span_id: spanId };
  };
}
