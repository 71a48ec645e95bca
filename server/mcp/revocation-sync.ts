/**
 * Keeps every node's token cache honest: an `oauth.revocation` domain event drops the named tokens from this node's
 * cache at once (synchronously, before the revoking request even answers) and, with Redis, is published so every
 * other node drops them too (typically within a millisecond or two). Messages carry ids only, never a token.
 *
 * If the subscriber connection drops, revocations published meanwhile are lost, so each node empties its cache when
 * it reconnects. While Redis is down, a token revoked on another node stays usable here at most
 * MCP_TOKEN_CACHE_SECONDS.
 */
import type { DomainEventBus } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { RedisService } from "../redis.ts";
import type { RevocationIds } from "./token-cache.ts";

const CHANNEL = "oauth:revocation";

interface Broadcast extends RevocationIds {
  node: string;
}

export interface RevocationTarget {
  invalidate(ids: RevocationIds): unknown;
  clearAll(): void;
}

export interface RevocationSync {
  /** Resolves once this node listens to other nodes' revocations (at once without Redis). */
  ready: Promise<unknown>;
  stop(): Promise<void>;
}

/** Publishes a revocation to every node (the receivers' count, or -1 when Redis is unreachable). */
export function broadcastRevocation(redis: RedisService, ids: RevocationIds): Promise<number> {
  const message: Broadcast = { node: redis.nodeId, ...ids };
  return redis.publish(CHANNEL, JSON.stringify(message));
}

export function syncRevocations(
  deps: { events: DomainEventBus; redis: RedisService | null; log: Logger },
  target: RevocationTarget,
): RevocationSync {
  const { events, redis, log } = deps;
  const stopLocal = events.on("oauth.revocation", (ids) => {
    target.invalidate(ids);
    if (!redis) return;
    void broadcastRevocation(redis, ids).then((receivers) => {
      if (receivers < 0) log.warn("revocation not broadcast: Redis unreachable (other nodes drop the token when their cache expires)");
    });
  });
  if (!redis) {
    return {
      ready: Promise.resolve(),
      stop: async () => {
        stopLocal();
      },
    };
  }
  const subscription = redis.subscribe(CHANNEL, (raw) => {
    let message: Broadcast;
    try {
      message = JSON.parse(raw) as Broadcast;
    } catch {
      return;
    }
    if (message.node === redis.nodeId) return;
    target.invalidate({
      grantIds: strings(message.grantIds),
      accessTokenIds: strings(message.accessTokenIds),
      clientIds: strings(message.clientIds),
      userIds: strings(message.userIds),
    });
  });
  const stopResubscribe = redis.onResubscribed(() => target.clearAll());
  return {
    ready: subscription.ready,
    async stop() {
      stopLocal();
      stopResubscribe();
      await subscription.unsubscribe();
    },
  };
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : undefined;
}
