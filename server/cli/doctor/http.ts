/**
 * The doctor's HTTP: every request bounded in time, the answer read whole (at most 1 MB), never throwing for an HTTP
 * status. Only `fetch` failures (DNS, TLS, refused connection, timeout) throw, as `Unreachable`.
 */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json?: unknown;
}

export class Unreachable extends Error {}

const MAX_BODY = 1024 * 1024;

export async function call(url: string | URL, init: RequestInit = {}, timeoutMs = 10_000): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: "manual", ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new Unreachable(`${new URL(url).origin}: ${(error as Error).cause ? String((error as Error & { cause: Error }).cause.message ?? (error as Error).cause) : (error as Error).message}`);
  }
  const body = Buffer.from(await response.arrayBuffer()).subarray(0, MAX_BODY).toString("utf8");
  let json: unknown;
  if (/json/i.test(response.headers.get("content-type") ?? "")) {
    try {
      json = JSON.parse(body);
    } catch {
      // not JSON after all
    }
  }
  return { status: response.status, headers: response.headers, text: body, ...(json !== undefined ? { json } : {}) };
}

/** RFC 9110 §11.6.1 challenge parameters of the first `scheme` challenge (quoted or token values). */
export function challengeParams(header: string | null, scheme: string): Record<string, string> | undefined {
  if (!header) return undefined;
  const start = header.search(new RegExp(`(^|,\\s*)${scheme}(\\s|$)`, "i"));
  if (start < 0) return undefined;
  const rest = header.slice(start).replace(/^,?\s*\S+\s*/, "");
  const params: Record<string, string> = {};
  for (const match of rest.matchAll(/([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/g)) {
    params[match[1]!.toLowerCase()] = (match[2] ?? match[3] ?? "").replace(/\\(.)/g, "$1");
  }
  return params;
}

/** A short account of an answer for a step's detail: status and, for OAuth or JSON-RPC errors, the error. */
export function describe(answer: Answer): string {
  const body = answer.json as { error?: unknown; error_description?: unknown } | undefined;
  if (body && typeof body.error === "string") {
    return `${answer.status} ${body.error}${typeof body.error_description === "string" ? `: ${body.error_description}` : ""}`;
  }
  const rpc = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (rpc && typeof rpc === "object" && typeof rpc.code === "number") return `${answer.status} JSON-RPC ${rpc.code}: ${String(rpc.message)}`;
  return String(answer.status);
}
