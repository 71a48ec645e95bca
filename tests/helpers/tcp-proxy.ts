/**
 * A TCP proxy on loopback in front of a service (PostgreSQL, Redis) that a fault test can break and mend:
 *
 * - `cut()`: every open connection is reset and new ones are reset at once (the service crashed, or a firewall
 *   rejects): clients see ECONNRESET / "Connection terminated" straight away.
 * - `stall()`: a network partition. Connections stay open but no byte moves in either direction (bytes are held,
 *   as TCP would retransmit them, not dropped); new connections are accepted and wait. Only timeouts notice.
 * - `restore()`: forwarding resumes; held bytes are delivered, waiting connections go through.
 *
 * The listening port never changes, so the server under test keeps one URL throughout.
 */
import net from "node:net";

export type ProxyState = "up" | "cut" | "stalled";

interface Link {
  client: net.Socket;
  upstream: net.Socket | null;
}

export interface TcpProxy {
  readonly port: number;
  readonly state: ProxyState;
  /** Connections accepted so far (a reconnecting client shows up here). */
  readonly accepted: number;
  /** `url` with its host and port replaced by the proxy's. */
  urlFor(url: string): string;
  cut(): void;
  stall(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const links = new Set<Link>();
  let state: ProxyState = "up";
  let accepted = 0;

  const drop = (link: Link) => {
    links.delete(link);
    reset(link.client);
    if (link.upstream) reset(link.upstream);
  };

  const connectUpstream = (link: Link) => {
    const upstream = net.connect(target.port, target.host);
    link.upstream = upstream;
    upstream.on("error", () => drop(link));
    upstream.on("close", () => drop(link));
    link.client.pipe(upstream);
    upstream.pipe(link.client);
  };

  const server = net.createServer((client) => {
    accepted += 1;
    if (state === "cut") {
      reset(client);
      return;
    }
    const link: Link = { client, upstream: null };
    links.add(link);
    client.on("error", () => drop(link));
    client.on("close", () => drop(link));
    if (state === "up") connectUpstream(link);
    else client.pause();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    get state() {
      return state;
    },
    get accepted() {
      return accepted;
    },
    urlFor(url) {
      const parsed = new URL(url);
      parsed.hostname = "127.0.0.1";
      parsed.port = String(port);
      return parsed.toString();
    },
    cut() {
      state = "cut";
      for (const link of [...links]) drop(link);
    },
    stall() {
      state = "stalled";
      // Unpiped and paused: whatever arrives stays in the kernel and stream buffers until restore().
      for (const { client, upstream } of links) {
        client.unpipe();
        client.pause();
        upstream?.unpipe();
        upstream?.pause();
      }
    },
    restore() {
      const was = state;
      state = "up";
      if (was !== "stalled") return;
      for (const link of links) {
        if (link.upstream) {
          link.client.pipe(link.upstream);
          link.upstream.pipe(link.client);
          link.client.resume();
          link.upstream.resume();
        } else {
          connectUpstream(link);
          link.client.resume();
        }
      }
    },
    async close() {
      state = "cut";
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An RST rather than a FIN: the peer learns at once that the connection is gone. */
function reset(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === "function" && socket.readyState !== "opening") socket.resetAndDestroy();
  else socket.destroy();
}
