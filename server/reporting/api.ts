/**
 * The original app's analytics API, now protected (admin-access.ts):
 * - `GET /api/analytics`: request rows, newest first, with a summary of the range on the first page;
 * - `GET /api/analytics/security`: security events, likewise;
 * - `POST /api/analytics/collect`: client-side events (the original's request shape, or security events), at most
 *   100 per call and 64 KB, validated, recorded through the same batched writer.
 * Time range: `from`/`to` (ISO 8601 or epoch milliseconds; default the last 24 hours). Pagination: `limit`
 * (1-500, default 100) and `cursor` (the `nextCursor` of the previous page). A `clientId` filter may be the public
 * `client_id` or the Client row id (rows carry the row id).
 */
import { z } from "zod";
import { methodLabel } from "../analytics/labels.ts";
import type { AnalyticsRecorder } from "../analytics/recorder.ts";
import { cleanDetails, cleanText } from "../analytics/sanitize.ts";
import { clientRowIdOf, requestSummary, securityEventSummary, topEndpoints } from "../analytics/summaries.ts";
import { INSTANT_BOUNDS_MESSAGE, isQueryableInstant, resolveRange, type TimeRange } from "../analytics/time-range.ts";
import type { Prisma, PrismaClient } from "../db/client.ts";
import { timeKeysetArgs } from "../db/pagination.ts";
import type { RequestMeta } from "../request/meta.ts";
import { authorizeAnalyticsCaller, json, jsonError, type AdminAccessDeps } from "./admin-access.ts";

type Deps = AdminAccessDeps & { prisma: PrismaClient };

export const COLLECT_BODY_LIMIT = 64 * 1024;
const MAX_EVENTS = 100;

const epochMs = z
  .string()
  .regex(/^\d{10,15}$/)
  .transform(Number)
  .refine((ms) => isQueryableInstant(new Date(ms)), INSTANT_BOUNDS_MESSAGE);
const instant = z.union([z.iso.datetime({ offset: true }), epochMs]).optional();

const listQuery = z.object({
  from: instant,
  to: instant,
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.uuid().optional(),
});

const requestsQuery = listQuery.extend({
  endpoint: z.string().max(200).optional(),
  method: z.string().max(10).optional(),
  status: z.string().regex(/^([1-5]\d\d|[1-5]xx)$/, "a status code or a class like 4xx").optional(),
  clientId: z.string().max(255).optional(),
  userId: z.string().max(64).optional(),
});

const securityQuery = listQuery.extend({
  eventType: z.string().regex(/^[A-Z_]{1,40}$/).optional(),
  severity: z.enum(["low", "medium", "high", "critical"]).optional(),
  clientId: z.string().max(255).optional(),
  reviewed: z.enum(["true", "false"]).optional(),
});

function parseQuery<T extends z.ZodType>(schema: T, request: Request): { ok: true; data: z.output<T> } | { ok: false; response: Response } {
  const params = Object.fromEntries(new URL(request.url).searchParams);
  const parsed = schema.safeParse(params);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, response: jsonError(400, "invalid_request", `${issue.path.join(".") || "query"}: ${issue.message}`) };
}

function rangeOf(query: { from?: string | number; to?: string | number }): TimeRange {
  const date = (v: string | number | undefined) => (v === undefined ? undefined : new Date(v));
  return resolveRange({ from: date(query.from), to: date(query.to) });
}

function timestampWhere(range: TimeRange) {
  return { timestamp: { gte: range.from, lt: range.to } };
}

/**
 * The common start of both listings: an administrator's session, a valid query, its time range, and the Client row
 * id its `clientId` filter names.
 */
async function authorizedListing<Q extends { from?: string | number; to?: string | number; clientId?: string }>(
  deps: Deps,
  request: Request,
  meta: RequestMeta | undefined,
  schema: z.ZodType<Q>,
): Promise<{ ok: true; q: Q; range: TimeRange; clientId?: string } | { ok: false; response: Response }> {
  const caller = await authorizeAnalyticsCaller(deps, request, { allowBearer: false });
  if (!caller.ok) return caller;
  if (meta) meta.userId = caller.userId;
  const query = parseQuery(schema, request);
  if (!query.ok) return query;
  const q = query.data;
  return { ok: true, q, range: rangeOf(q), clientId: q.clientId ? await clientRowIdOf(deps, q.clientId) : undefined };
}

/** GET /api/analytics */
export async function listRequestsResponse(deps: Deps, request: Request, meta?: RequestMeta): Promise<Response> {
  const listing = await authorizedListing(deps, request, meta, requestsQuery);
  if (!listing.ok) return listing.response;
  const { q, range, clientId } = listing;
  const status = q.status?.endsWith("xx")
    ? { gte: Number(q.status[0]) * 100, lt: Number(q.status[0]) * 100 + 100 }
    : q.status
      ? Number(q.status)
      : undefined;
  const where: Prisma.AnalyticsRequestWhereInput = {
    ...timestampWhere(range),
    ...(q.endpoint ? { endpoint: q.endpoint } : {}),
    ...(q.method ? { method: q.method.toUpperCase() } : {}),
    ...(status !== undefined ? { statusCode: status } : {}),
    ...(clientId ? { clientId } : {}),
    ...(q.userId ? { userId: q.userId } : {}),
  };
  const cursor = q.cursor ? await deps.prisma.analyticsRequest.findFirst({ where: { id: q.cursor }, select: { id: true, timestamp: true } }) : null;
  // A cursor whose row is gone (retention dropped its day) ends the listing rather than starting it over.
  if (q.cursor && !cursor) return json({ range, requests: [], nextCursor: null });
  const keyset = timeKeysetArgs({ cursor: q.cursor, direction: "forward", limit: q.limit }, cursor);
  const [rows, summary, endpoints] = await Promise.all([
    deps.prisma.analyticsRequest.findMany({ where: { AND: [where, keyset.where] }, orderBy: keyset.orderBy, take: keyset.take }),
    q.cursor ? undefined : requestSummary(deps, range),
    q.cursor ? undefined : topEndpoints(deps, range),
  ]);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  return json({
    range,
    ...(summary ? { summary: { ...summary, topEndpoints: endpoints } } : {}),
    requests: page,
    nextCursor: more ? page.at(-1)!.id : null,
  });
}

/** GET /api/analytics/security */
export async function listSecurityResponse(deps: Deps, request: Request, meta?: RequestMeta): Promise<Response> {
  const listing = await authorizedListing(deps, request, meta, securityQuery);
  if (!listing.ok) return listing.response;
  const { q, range, clientId } = listing;
  const where: Prisma.AnalyticsSecurityWhereInput = {
    ...timestampWhere(range),
    ...(q.eventType ? { eventType: q.eventType } : {}),
    ...(q.severity ? { severity: q.severity } : {}),
    ...(clientId ? { clientId } : {}),
    ...(q.reviewed === "true" ? { reviewedAt: { not: null } } : q.reviewed === "false" ? { reviewedAt: null } : {}),
  };
  const cursor = q.cursor ? await deps.prisma.analyticsSecurity.findFirst({ where: { id: q.cursor }, select: { id: true, timestamp: true } }) : null;
  if (q.cursor && !cursor) return json({ range, events: [], nextCursor: null });
  const keyset = timeKeysetArgs({ cursor: q.cursor, direction: "forward", limit: q.limit }, cursor);
  const [rows, summary] = await Promise.all([
    deps.prisma.analyticsSecurity.findMany({ where: { AND: [where, keyset.where] }, orderBy: keyset.orderBy, take: keyset.take }),
    q.cursor ? undefined : securityEventSummary(deps, range),
  ]);
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  return json({ range, ...(summary ? { summary } : {}), events: page, nextCursor: more ? page.at(-1)!.id : null });
}

const requestEvent = z.object({
  type: z.literal("request").optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  endpoint: z.string().min(1).max(200).regex(/^\//, "must be a path starting with /"),
  method: z.string().min(1).max(10),
  statusCode: z.number().int().min(100).max(599),
  responseTime: z.number().min(0).max(3_600_000),
  clientId: z.string().max(255).optional(),
  oauthError: z.string().max(64).optional(),
  // The original's `ipAddress`/`userAgent` are accepted but not trusted: the caller's own are recorded.
  ipAddress: z.string().max(64).optional(),
  userAgent: z.string().max(512).optional(),
});

const securityEvent = z.object({
  type: z.literal("security"),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  eventType: z.string().regex(/^[A-Z_]{1,40}$/, "UPPER_SNAKE_CASE, at most 40 characters"),
  severity: z.enum(["low", "medium", "high", "critical"]),
  clientId: z.string().max(255).optional(),
  userId: z.string().max(64).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

const collectedEvent = z.union([securityEvent, requestEvent]);
const collectBody = z.union([
  collectedEvent.transform((e) => [e]),
  z.array(collectedEvent).min(1).max(MAX_EVENTS),
  z.object({ events: z.array(collectedEvent).min(1).max(MAX_EVENTS) }).transform((b) => b.events),
]);

/** Client clocks are not trusted beyond a day back or five minutes ahead. */
function eventTime(value: string | undefined, now: number): Date {
  if (!value) return new Date(now);
  const t = new Date(value).getTime();
  return t > now - 86_400_000 && t < now + 300_000 ? new Date(t) : new Date(now);
}

/** POST /api/analytics/collect */
export async function collectResponse(
  deps: Deps,
  recorder: AnalyticsRecorder | undefined,
  request: Request,
  meta?: RequestMeta,
): Promise<Response> {
  const caller = await authorizeAnalyticsCaller(deps, request, { allowBearer: true, origin: { ip: meta?.ip, userAgent: meta?.userAgent } });
  if (!caller.ok) return caller.response;
  if (meta) {
    meta.userId = caller.userId;
    if (caller.clientId) meta.clientId = caller.clientId;
  }
  if (!/^application\/json\b/i.test(request.headers.get("content-type") ?? "")) {
    return jsonError(415, "invalid_request", "Send application/json");
  }
  const text = await readLimited(request, COLLECT_BODY_LIMIT);
  if (text === undefined) return jsonError(413, "invalid_request", `The body is larger than ${COLLECT_BODY_LIMIT / 1024} KB`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return jsonError(400, "invalid_request", "The body is not JSON");
  }
  const parsed = collectBody.safeParse(body);
  if (!parsed.success) {
    return jsonError(400, "invalid_request", `Expected an event, an array of at most ${MAX_EVENTS} events, or {events: [...]}`);
  }
  if (!recorder) return json({ accepted: 0, recording: false }, 202);
  const now = Date.now();
  const ip = cleanText(meta?.ip, 64);
  const userAgent = cleanText(meta?.userAgent ?? request.headers.get("user-agent"), 512);
  for (const event of parsed.data) {
    if (event.type === "security") {
      recorder.recordSecurity({
        timestamp: eventTime(event.timestamp, now),
        eventType: event.eventType,
        severity: event.severity,
        clientId: cleanText(event.clientId, 255),
        userId: cleanText(event.userId ?? caller.userId, 64),
        ipAddress: ip,
        userAgent,
        details: { ...(cleanDetails(event.details ?? {}) as object), source: "collect" },
      });
    } else {
      recorder.recordRequest({
        timestamp: eventTime(event.timestamp, now),
        method: methodLabel(event.method),
        endpoint: cleanText(event.endpoint.split("?")[0], 200) ?? "/",
        statusCode: event.statusCode,
        responseTime: event.responseTime,
        clientId: cleanText(event.clientId, 255),
        userId: caller.userId,
        ipAddress: ip,
        userAgent,
        oauthError: cleanText(event.oauthError, 64),
      });
    }
  }
  return json({ accepted: parsed.data.length, recording: true }, 202);
}

/** The body as text, or undefined when it is larger than `limit` bytes (read no further than that). */
async function readLimited(request: Request, limit: number): Promise<string | undefined> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) return undefined;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
