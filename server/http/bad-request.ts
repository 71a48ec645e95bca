/**
 * The host's 400, in the form of the surface the request was sent to, so each kind of client can read it:
 * - OAuth endpoints (`/api/oauth/*`, `/.well-known/*`): the RFC 6749 §5.2 error body from the one OAuth error type
 *   (errors.ts), `invalid_request`; a registration body is `invalid_client_metadata` (RFC 7591 §3.2.2);
 * - MCP (`/mcp/*`): a JSON-RPC 2.0 error (§5.1: -32600 Invalid Request, `id` null as it was not read);
 * - tRPC (`/api/trpc/*`): tRPC's error envelope with code BAD_REQUEST (one per procedure of a batch call);
 * - other JSON APIs (`/api/*` but sign-in, `/metrics`): `{ error: "invalid_request", error_description }`;
 * - everything else is a page a person sees (sign-in, consent, console): a small HTML page.
 */
import type { ServerResponse } from "node:http";
import { OAuthError } from "../oauth/errors.ts";
import type { BadInputError } from "./input-guard.ts";
import { requestMeta } from "./request-context.ts";
import { pathOf, queryOf } from "./request-target.ts";
import { sendJson } from "./send-json.ts";

export type Surface = "oauth" | "registration" | "mcp" | "trpc" | "api" | "page";

/** The surface a path belongs to. Leading slashes are folded (`//mcp/mcp` is refused as MCP). */
export function surfaceOf(path: string): Surface {
  const p = path.replace(/^\/+/, "/").toLowerCase();
  if (p === "/api/oauth/register" || p.startsWith("/api/oauth/register/")) return "registration";
  if (p.startsWith("/api/oauth/") || p.startsWith("/.well-known/")) return "oauth";
  if (p === "/mcp" || p.startsWith("/mcp/")) return "mcp";
  if (p === "/api/trpc" || p.startsWith("/api/trpc/")) return "trpc";
  if (p.startsWith("/api/auth/")) return "page";
  if (p.startsWith("/api/") || p === "/metrics") return "api";
  return "page";
}

/** Answers `error` for the request target `target` (as the client sent it). */
export function sendBadRequest(res: ServerResponse, target: string, error: BadInputError): void {
  const description = error.description;
  const path = pathOf(target);
  const surface = surfaceOf(path);
  switch (surface) {
    case "oauth":
    case "registration": {
      const code = surface === "registration" && error.part === "body" ? "invalid_client_metadata" : "invalid_request";
      const oauth = new OAuthError(code, description);
      const meta = requestMeta(res);
      if (meta) meta.oauthError = oauth.error;
      sendJson(res, 400, oauth.toJSON());
      return;
    }
    case "mcp":
      sendJson(res, 400, { jsonrpc: "2.0", id: null, error: { code: -32600, message: `Invalid Request: ${description}` } });
      return;
    case "trpc":
      sendJson(res, 400, trpcEnvelope(path, queryOf(target), description));
      return;
    case "api":
      sendJson(res, 400, { error: "invalid_request", error_description: description });
      return;
    case "page":
      sendPage(res, description);
  }
}

/**
 * tRPC's error shape (`TRPCErrorShape` as `server/trpc/init.ts` formats it): `?batch=1` calls get one error per
 * procedure named in the path (`/api/trpc/a.b,c.d`).
 */
function trpcEnvelope(path: string, query: string, message: string): unknown {
  const procedures = path.replace(/^\/+api\/trpc\/?/i, "");
  const names = /^[A-Za-z0-9_.,]{1,500}$/.test(procedures) ? procedures.split(",") : [null];
  const one = (name: string | null) => ({
    error: { message, code: -32600, data: { code: "BAD_REQUEST", httpStatus: 400, path: name, zodIssues: null } },
  });
  return /(^|&)batch=1(&|$)/.test(query) ? names.map(one) : one(names[0] ?? null);
}

function sendPage(res: ServerResponse, description: string): void {
  const html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Bad request · MCP OAuth Server</title></head>
<body><main><h1>Bad request</h1><p>${escapeHtml(description)}.</p><p>Check the link you followed, or <a href="/">start again</a>.</p></main></body></html>
`;
  res.statusCode = 400;
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(html));
  res.end(html);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
