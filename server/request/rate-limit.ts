/**
 * Rate limits (rate-limiter-flexible) per IP and per client on registration, authorization, the token endpoint and
 * MCP (OAuth 2.1 §7.x / RFC 9700 §4.x abuse protection; MCP Security Best Practices). Fixed windows of
 * RATE_LIMIT_WINDOW_SECONDS; each limit is an env variable (0 turns it off).
 *
 * Store: Redis when REDIS_URL is set, so the limits hold across nodes; an in-memory "insurance" limiter answers
 * whenever Redis is unreachable or slow (requests never fail because Redis is gone; a warning is logged once per
 * outage). Without Redis, memory only (one node's view).
 *
 * Over the limit: 429, `Retry-After`, `{"error":"rate_limit_exceeded","retry_after":<s>}`, a `ratelimit.exceeded`
 * event each time and one RATE_LIMIT_EXCEEDED security event per key and window (not one per rejected request).
 *
 * Callers in TRUSTED_IP_RANGES are exempt. The client IP is `res.locals.meta.ip`, which believes X-Forwarded-For only
 * with TRUST_PROXY. IPv6 callers are counted per /64, the block one subscriber usually controls.
 */
import ipaddr from "ipaddr.js";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { sha256Hex } from "../crypto.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus, EventOrigin } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { RedisService } from "../redis.ts";
import { parseIpRanges, type IpRanges } from "./ip-ranges.ts";

export type RateLimitedEndpoint = "register" | "authorize" | "token" | "mcp";
export type RateLimitKey = "ip" | "client";

export interface RateLimitRejection {
  status: 429;
  retryAfterSeconds: number;
  headers: Record<string, string>;
  body: { error: "rate_limit_exceeded"; retry_after: number };
}

const NOT_LIMITED: Promise<null> = Promise.resolve(null);

export class RateLimits {
  private readonly limiters = new Map<string, { limiter: RateLimiterAbstract; points: number }>();
  private readonly trusted: IpRanges;
  private warnedRedisDown = false;

  constructor(
    private readonly deps: { env: Env; log: Logger; events: DomainEventBus; redis: RedisService | null },
  ) {
    const { env } = deps;
    this.trusted = parseIpRanges(env.TRUSTED_IP_RANGES);
    if (!env.RATE_LIMIT_ENABLED) return;
    const limits: Record<`${RateLimitedEndpoint}:${RateLimitKey}`, number> = {
      "register:ip": env.RATE_LIMIT_REGISTER_PER_IP,
      // Registration happens before there is a client id: per IP only.
      "register:client": 0,
      "authorize:ip": env.RATE_LIMIT_AUTHORIZE_PER_IP,
      "authorize:client": env.RATE_LIMIT_AUTHORIZE_PER_CLIENT,
      "token:ip": env.RATE_LIMIT_TOKEN_PER_IP,
      "token:client": env.RATE_LIMIT_TOKEN_PER_CLIENT,
      "mcp:ip": env.RATE_LIMIT_MCP_PER_IP,
      "mcp:client": env.RATE_LIMIT_MCP_PER_CLIENT,
    };
    for (const [name, points] of Object.entries(limits)) {
      if (points > 0) this.limiters.set(name, { limiter: this.createLimiter(name, points), points });
    }
  }

  private createLimiter(name: string, points: number): RateLimiterAbstract {
    const duration = this.deps.env.RATE_LIMIT_WINDOW_SECONDS;
    const { redis } = this.deps;
    const keyPrefix = `${redis?.prefix ?? ""}rl:${name}`;
    const memory = new RateLimiterMemory({ points, duration, keyPrefix });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis.client(),
      points,
      duration,
      keyPrefix,
      // Redis not connected: answer from memory at once instead of waiting.
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
      // A key over its limit is remembered here until its window ends: no Redis round trip per rejected request.
      inMemoryBlockOnConsumed: points + 1,
    });
  }

  /** Whether `ip` is in TRUSTED_IP_RANGES (exempt from every limit; ip-ranges.ts remembers answers). */
  isTrusted(ip: string): boolean {
    return this.trusted.contains(ip);
  }

  /**
   * Counts one request of `id` (an IP, or a client id) against the endpoint's limit. Resolves null when allowed,
   * or the rejection to send.
   */
  consume(endpoint: RateLimitedEndpoint, key: RateLimitKey, id: string, origin: EventOrigin): Promise<RateLimitRejection | null> {
    const entry = this.limiters.get(`${endpoint}:${key}`);
    if (!entry || !id) return NOT_LIMITED;
    if (origin.ip && this.isTrusted(origin.ip)) return NOT_LIMITED;
    this.warnIfRedisDown();
    // A plain promise chain rather than an async function: one promise fewer per request on the hot path.
    return entry.limiter.consume(key === "ip" ? ipSubscriberKey(id) : clientKey(id)).then(
      () => null,
      (result: unknown) => {
        if (!(result instanceof RateLimiterRes)) {
          // The store failed and so did the fallback: let the request through rather than fail it.
          this.deps.log.warn({ err: result, endpoint }, "rate limiter failed; request allowed");
          return null;
        }
        return this.reject(endpoint, key, entry.points, result, origin);
      },
    );
  }

  private reject(
    endpoint: RateLimitedEndpoint,
    key: RateLimitKey,
    points: number,
    result: RateLimiterRes,
    origin: EventOrigin,
  ): RateLimitRejection {
    const retryAfterSeconds = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    const { events, env } = this.deps;
    events.emit("ratelimit.exceeded", { ...origin, endpoint, key });
    // The first rejection of a window is the security event; the rest only count in the metric.
    if (result.consumedPoints === points + 1) {
      events.security({
        ...origin,
        type: "RATE_LIMIT_EXCEEDED",
        severity: "medium",
        details: { endpoint, key, limit: points, windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS },
      });
    }
    return {
      status: 429,
      retryAfterSeconds,
      headers: { "Retry-After": String(retryAfterSeconds), "Cache-Control": "no-store", "Content-Type": "application/json" },
      body: { error: "rate_limit_exceeded", retry_after: retryAfterSeconds },
    };
  }

  private warnIfRedisDown(): void {
    const { redis, log } = this.deps;
    if (!redis) return;
    const ready = redis.isReady();
    if (!ready && !this.warnedRedisDown) {
      this.warnedRedisDown = true;
      log.warn("Redis unreachable: rate limits are counted per node (in memory) until it is back");
    } else if (ready) {
      this.warnedRedisDown = false;
    }
  }
}

/** A rejection as a Fetch Response. */
export function rejectionResponse(rejection: RateLimitRejection): Response {
  return new Response(JSON.stringify(rejection.body), { status: rejection.status, headers: rejection.headers });
}

function parseIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    // process(): IPv4-mapped IPv6 (::ffff:1.2.3.4) becomes plain IPv4.
    return ipaddr.process(ip);
  } catch {
    return null;
  }
}

const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** The key an address is counted under: IPv4 as is, IPv6 by its /64 (connections.ts counts the same way). */
export function ipSubscriberKey(ip: string): string {
  // The host already normalised ::ffff:a.b.c.d to a.b.c.d: plain IPv4 needs no parsing (hot path).
  if (IPV4.test(ip)) return ip;
  const address = parseIp(ip);
  if (!address) return `raw:${ip.slice(0, 64)}`;
  if (address.kind() === "ipv4") return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(":")}::/64`;
}

/** Client ids can be long URLs (metadata documents): keys stay short. */
function clientKey(id: string): string {
  return id.length <= 128 ? id : `sha256:${sha256Hex(id)}`;
}
