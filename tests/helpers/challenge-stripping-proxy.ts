/**
 * A reverse proxy on loopback that drops `WWW-Authenticate` from every answer, as a misconfigured proxy in front of an
 * MCP server does: the client gets a 401 with no challenge and so no `resource_metadata` (RFC 9728 §5.1) to start
 * discovery from. The doctor tests name this cause (challenge_stripped).
 */
import http from "node:http";
import { freePort } from "../../server/db/embedded.ts";

export interface ChallengeStrippingProxy {
  /** http://127.0.0.1:<port>, no trailing slash. */
  url: string;
  close(): void;
}

export async function startChallengeStrippingProxy(
  upstream: string,
  options: {
    /** The headers forwarded upstream; the client's own by default. */
    forwardHeaders?: (req: http.IncomingMessage) => http.OutgoingHttpHeaders;
    /** Answer /.well-known/* with 404 here instead of forwarding it (the RFC 9728 §3.1 fallback never arrives). */
    hideWellKnown?: boolean;
  } = {},
): Promise<ChallengeStrippingProxy> {
  const target = new URL(upstream);
  const proxy = http.createServer((req, res) => {
    if (options.hideWellKnown && req.url?.startsWith("/.well-known/")) {
      res.writeHead(404).end("not found");
      return;
    }
    const headers = options.forwardHeaders?.(req) ?? req.headers;
    const forwarded = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (answer) => {
      const out = { ...answer.headers };
      delete out["www-authenticate"];
      res.writeHead(answer.statusCode ?? 502, out);
      answer.pipe(res);
    });
    forwarded.on("error", () => res.destroy());
    req.pipe(forwarded);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => proxy.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      proxy.closeAllConnections();
      proxy.close();
    },
  };
}
