/**
 * The optional shared Redis (REDIS_URL): rate-limit counters, MCP sessions, cross-node SSE messages and revocation
 * broadcasts. Connections are created on first use and never crash the process: while Redis is down commands fail
 * fast (no offline queue, short command timeout) so callers fall back to their in-process behaviour, a warning is
 * logged once per outage, and ioredis keeps reconnecting in the background.
 *
 * Pub/sub needs a connection of its own (a subscribed connection cannot run other commands), so there are two.
 * Every key and channel carries `REDIS_KEY_PREFIX`, so several deployments (or test files) can share one Redis.
 */
import { randomUUID } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "./logger.ts";

export type MessageHandler = (message: string) => void;

export interface Subscription {
  ready: Promise<boolean>;
  unsubscribe(): Promise<void>;
}

export interface RedisService {
  /** Identifies this process's node in broadcasts, so a node can ignore its own messages. */
  readonly nodeId: string;
  readonly prefix: string;
  /** `prefix + name`: the key or channel name to use. */
  key(name: string): string;
  /** The command connection (created and connected on first use). */
  client(): Redis;
  /** Whether the command connection can run commands right now. */
  isReady(): boolean;
  /** Resolves true once the command connection is ready, false after `timeoutMs`. */
  waitUntilReady(timeoutMs?: number): Promise<boolean>;
  /** Publishes on `key(channel)`; resolves the number of receivers, or -1 when Redis is unreachable. */
  publish(channel: string, message: string): Promise<number>;
  /**
   * Subscribes to `key(channel)`. `ready` resolves true once Redis confirmed the subscription, false if it did not
   * within 2 s (Redis down: ioredis subscribes when it reconnects).
   */
  subscribe(channel: string, handler: MessageHandler): Subscription;
  /**
   * Called when the subscriber connection comes back after a drop: messages published meanwhile were lost, so
   * listeners must assume they missed some (e.g. drop every cached token).
   */
  onResubscribed(listener: () => void): () => void;
  close(): Promise<void>;
}

const COMMAND_TIMEOUT_MS = 500;

export function createRedisService(url: string, options: { prefix: string; log: Logger }): RedisService {
  const { prefix, log } = options;
  const nodeId = randomUUID();
  let command: Redis | undefined;
  let subscriber: Redis | undefined;
  let closed = false;
  const handlers = new Map<string, Set<MessageHandler>>();
  const resubscribeListeners = new Set<() => void>();

  const connectionOptions: RedisOptions = {
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: callers have an in-process fallback.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    // Reconnect forever, backing off to 5 s between attempts.
    retryStrategy: (times) => (closed ? null : Math.min(times * 200, 5_000)),
  };

  function watch(connection: Redis, role: string): Redis {
    let wasReady = false;
    let down = false;
    connection.on("ready", () => {
      if (down) log.warn({ redis: role }, "redis connection restored");
      if (wasReady && role === "subscriber") for (const listener of resubscribeListeners) listener();
      wasReady = true;
      down = false;
    });
    // An 'error' without a listener would crash the process; one warning per outage is enough.
    connection.on("error", (error: Error) => {
      if (down || closed) return;
      down = true;
      log.warn({ redis: role, err: { message: error.message } }, "redis unavailable; falling back to in-process behaviour");
    });
    connection.on("end", () => {
      if (!closed && !down) {
        down = true;
        log.warn({ redis: role }, "redis connection ended");
      }
    });
    connection.connect().catch(() => {
      /* reported by the 'error' listener; ioredis keeps retrying */
    });
    return connection;
  }

  function client(): Redis {
    command ??= watch(new Redis(url, { ...connectionOptions, connectionName: `${prefix}cmd` }), "command");
    return command;
  }

  function subscriberConnection(): Redis {
    if (!subscriber) {
      subscriber = watch(
        // A subscriber must queue its SUBSCRIBE until connected; ioredis re-subscribes after reconnects.
        new Redis(url, { ...connectionOptions, enableOfflineQueue: true, commandTimeout: undefined, connectionName: `${prefix}sub` }),
        "subscriber",
      );
      subscriber.on("message", (channel: string, message: string) => {
        for (const handler of handlers.get(channel) ?? []) {
          try {
            handler(message);
          } catch (error) {
            log.warn({ err: error, channel }, "redis message handler failed");
          }
        }
      });
    }
    return subscriber;
  }

  const service: RedisService = {
    nodeId,
    prefix,
    key: (name) => prefix + name,
    client,
    isReady: () => client().status === "ready",
    async waitUntilReady(timeoutMs = 2_000) {
      const connection = client();
      if (connection.status === "ready") return true;
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          connection.off("ready", onReady);
          resolve(false);
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve(true);
        };
        connection.once("ready", onReady);
      });
    },
    async publish(channel, message) {
      try {
        return await client().publish(prefix + channel, message);
      } catch {
        return -1;
      }
    },
    subscribe(channel, handler) {
      const name = prefix + channel;
      let set = handlers.get(name);
      if (!set) {
        set = new Set();
        handlers.set(name, set);
      }
      set.add(handler);
      const connection = subscriberConnection();
      const confirmed = connection.subscribe(name).then(
        () => true,
        () => false,
      );
      let timer: NodeJS.Timeout | undefined;
      const ready = Promise.race([
        confirmed,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), 2_000);
          timer.unref();
        }),
      ]).finally(() => clearTimeout(timer));
      const unsubscribe = async () => {
        const current = handlers.get(name);
        if (!current?.delete(handler) || current.size > 0) return;
        handlers.delete(name);
        if (!closed && connection.status === "ready") await connection.unsubscribe(name).catch(() => {});
      };
      return { ready, unsubscribe };
    },
    onResubscribed(listener) {
      resubscribeListeners.add(listener);
      return () => resubscribeListeners.delete(listener);
    },
    async close() {
      closed = true;
      handlers.clear();
      await Promise.all(
        [command, subscriber].map(async (connection) => {
          if (!connection) return;
          try {
            if (connection.status === "ready") await connection.quit();
            else connection.disconnect();
          } catch {
            connection.disconnect();
          }
        }),
      );
    },
  };
  return service;
}
