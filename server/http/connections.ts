/**
 * The host's TCP connections: how many one address may hold open at once, and how each one ends on shutdown.
 *
 * Limit: at most MAX_CONNECTIONS_PER_IP open connections per peer address (IPv6 per /64, as the rate limits count),
 * so one client cannot hold every socket with idle or slow connections (slowloris). One over the limit gets a 429
 * and is closed before the HTTP parser sees it (no handler runs). Peers in TRUSTED_IP_RANGES are not limited, nor is
 * anyone with TRUST_PROXY: then every peer is the proxy, and connections are the proxy's to limit.
 *
 * Drain (graceful shutdown, server.ts): Node's `server.close()` also destroys every connection it thinks idle, and
 * that includes one accepted a moment ago whose request is still in the socket buffer (the client sees ECONNRESET),
 * and a keep-alive connection whose next request is on its way. Instead, once draining: the listener stops
 * accepting; every response carries `Connection: close` (Node closes the connection after it); a connection that is
 * idle, or becomes idle, gets `IDLE_GRACE_MS` for a request to arrive before it is closed, so a request already sent
 * is answered (Go's `Server.Shutdown` gives new connections 5 s the same way; here a quarter of a second).
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { DomainEventBus } from "../events.ts";
import type { Logger } from "../logger.ts";
import { ipSubscriberKey } from "../request/rate-limit.ts";
import { normaliseIp } from "./request-context.ts";

/**
 * How long an idle connection is kept during a drain, for a request already on its way: a few round trips (the issue
 * measured resets 5-7 ms after the signal); not longer, as every idle keep-alive connection waits this long.
 */
export const IDLE_GRACE_MS = 250;
/** How long a refused connection stays open for its 429 to be read before the socket is destroyed. */
const REFUSAL_LINGER_MS = 1000;

export interface ConnectionPolicy {
  /** 0: no limit. */
  maxPerIp: number;
  trustProxy: boolean;
  trusted(ip: string): boolean;
  log: Logger;
  events: DomainEventBus;
}

export interface Connections {
  /** Open connections now. */
  readonly open: number;
  /** Stops accepting and closes each connection once it has nothing in flight; resolves when all are closed. */
  drain(): Promise<void>;
}

interface State {
  /** Requests received and not yet answered. */
  inFlight: number;
  idleTimer?: NodeJS.Timeout;
}

const REFUSAL_BODY = JSON.stringify({
  error: "too_many_connections",
  error_description: "Too many open connections from your address; close some and retry",
});
const REFUSAL =
  "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nRetry-After: 1\r\n" +
  `Connection: close\r\nContent-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n\r\n${REFUSAL_BODY}`;

/** Takes over the server's connections (call before `listen`). */
export function manageConnections(server: Server, policy: ConnectionPolicy): Connections {
  const states = new Map<Socket, State>();
  const perKey = new Map<string, number>();
  /** Keys refusing now: one security event when a key starts refusing, not one per refused connection. */
  const refusing = new Set<string>();
  let draining = false;

  // The HTTP server's own connection listener (it attaches the parser) runs only for connections we keep.
  const [httpListener] = server.listeners("connection") as Array<(socket: Socket) => void>;
  if (!httpListener) throw new Error("http.Server without its connection listener");
  server.removeListener("connection", httpListener);

  server.on("connection", (socket: Socket) => {
    const ip = normaliseIp(socket.remoteAddress ?? "");
    const limited = policy.maxPerIp > 0 && !policy.trustProxy && !policy.trusted(ip);
    const key = limited ? ipSubscriberKey(ip) : "";
    if (limited) {
      const count = (perKey.get(key) ?? 0) + 1;
      if (count > policy.maxPerIp) {
        refuse(socket, ip, key);
        return;
      }
      perKey.set(key, count);
    }
    const state: State = { inFlight: 0 };
    states.set(socket, state);
    socket.once("close", () => {
      clearTimeout(state.idleTimer);
      states.delete(socket);
      if (limited) {
        const left = (perKey.get(key) ?? 1) - 1;
        if (left > 0) perKey.set(key, left);
        else perKey.delete(key);
        if (left < policy.maxPerIp) refusing.delete(key);
      }
    });
    httpListener.call(server, socket);
    if (draining) closeWhenIdle(socket, state);
  });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const state = states.get(req.socket);
    if (!state) return;
    state.inFlight += 1;
    clearTimeout(state.idleTimer);
    state.idleTimer = undefined;
    if (draining) res.setHeader("Connection", "close");
    res.once("close", () => {
      state.inFlight -= 1;
      if (draining) closeWhenIdle(req.socket, state);
    });
  });

  function refuse(socket: Socket, ip: string, key: string): void {
    // Paused: nothing is read, so no request reaches a handler; the answer is written and the connection closed.
    socket.pause();
    socket.on("error", () => {});
    socket.end(REFUSAL);
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
    policy.events.emit("ratelimit.exceeded", { ip, endpoint: "connections", key: "ip" });
    if (!refusing.has(key)) {
      refusing.add(key);
      policy.log.warn({ ip, limit: policy.maxPerIp }, "too many connections from one address; refusing more");
      policy.events.security({ ip, type: "RATE_LIMIT_EXCEEDED", severity: "medium", details: { endpoint: "connections", key: "ip", limit: policy.maxPerIp } });
    }
  }

  /** Closes an idle connection after the grace period, unless a request arrives first. */
  function closeWhenIdle(socket: Socket, state: State): void {
    if (state.inFlight > 0 || state.idleTimer || socket.destroyed) return;
    state.idleTimer = setTimeout(() => {
      if (state.inFlight === 0) socket.end();
      // A client that never reads our FIN must not hold the drain up.
      setTimeout(() => socket.destroy(), IDLE_GRACE_MS).unref();
    }, IDLE_GRACE_MS);
    state.idleTimer.unref();
  }

  return {
    get open() {
      return states.size;
    },
    drain() {
      draining = true;
      // Stop accepting; the callback runs once every connection has closed. `close()` would first destroy the
      // connections Node thinks idle (see above): this module decides that during a drain, so that step is skipped.
      const closed = new Promise<void>((resolve) => {
        const closeIdle = server.closeIdleConnections;
        server.closeIdleConnections = () => {};
        try {
          server.close(() => resolve());
        } finally {
          server.closeIdleConnections = closeIdle;
        }
      });
      for (const [socket, state] of states) closeWhenIdle(socket, state);
      return closed;
    },
  };
}
