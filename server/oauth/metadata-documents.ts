/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25 Authorization
 * "Client ID Metadata Documents"): a `client_id` that is an https URL names a JSON document describing the client.
 *
 * The document is fetched under the SSRF guard (ssrf-guard.ts), must be a JSON object whose `client_id` equals the
 * URL exactly, must not carry a secret, and must describe a public client (`token_endpoint_auth_method: none`);
 * the rest is validated like a dynamic registration. Results are cached in a bounded in-memory map (per server
 * instance): successes for `ttlMs`, failures for `failureTtlMs` so a bad URL cannot turn us into an amplifier. For
 * the same reason concurrent requests for one document share a single fetch, and at most `maxConcurrentFetches`
 * documents are fetched at once: beyond that a request is refused at once (not queued, not cached).
 */
import { OAuthError } from "./errors.ts";
import { validateClientMetadata, type ClientMetadataInput } from "./client-metadata.ts";
import { GuardedFetchError, guardedFetch, type GuardedFetchOptions } from "./ssrf-guard.ts";

export const METADATA_DOCUMENT_LIMITS = { urlLength: 2000, cacheEntries: 500, ttlMs: 5 * 60_000, failureTtlMs: 60_000, concurrentFetches: 20 } as const;

/** Whether a client_id is a URL (and so names a metadata document) rather than an identifier we issued. */
export function isClientIdUrl(clientId: string): boolean {
  return /^https?:\/\//i.test(clientId);
}

/** The draft's rules for a client identifier URL (§3): https, a path, no fragment, no userinfo, no dot segments. */
export function checkClientIdUrl(clientId: string): string | null {
  if (clientId.length > METADATA_DOCUMENT_LIMITS.urlLength) return "is too long";
  if (!/^https:\/\//.test(clientId)) return "must be an https URL";
  if (clientId.includes("#")) return "must not contain a fragment";
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return "is not a valid URL";
  }
  if (url.username || url.password) return "must not contain user information";
  if (url.pathname === "/" || url.pathname === "") return "must contain a path";
  if (/(^|\/)\.\.?(\/|$)/.test(clientId.slice(url.origin.length).split("?")[0])) return "must not contain dot segments";
  if (url.href !== clientId) return "must be in normalised form";
  return null;
}

/**
 * What a client is told when the document could not be fetched. Deliberately coarse: "does not resolve" and
 * "resolves to a private address" read the same, or the error would tell a stranger which internal host names
 * exist (an SSRF oracle); transport errors are not passed on (they name addresses and certificates). The precise
 * failure is the error's `reason` (logs and analytics).
 */
function fetchFailureText(error: GuardedFetchError): string {
  switch (error.failure) {
    case "url":
      return error.message;
    case "address":
    case "resolution":
      return "could not be fetched: its host does not resolve to a public address";
    case "redirect":
      return "answered with a redirect (redirects are not followed)";
    case "status":
      return `could not be fetched: ${error.message}`;
    case "too_large":
      return "is too large";
    case "timeout":
      return "did not arrive in time";
    default:
      return "could not be fetched";
  }
}

type CacheEntry = { expires: number } & ({ ok: true; metadata: ClientMetadataInput } | { ok: false; error: string });

export class MetadataDocumentFetcher {
  private readonly cache = new Map<string, CacheEntry>();
  /** Fetches under way, by URL (single flight). */
  private readonly inFlight = new Map<string, Promise<ClientMetadataInput>>();

  constructor(
    private options: GuardedFetchOptions & { ttlMs?: number; failureTtlMs?: number; maxEntries?: number; maxConcurrentFetches?: number } = {},
  ) {}

  /**
   * Replaces how the outside world is reached (DNS resolver, HTTPS transport). Tests use it to stand in for the
   * internet; the guard's checks (https only, public addresses, no redirects, size, deadline) still run.
   */
  useNetwork(network: Pick<GuardedFetchOptions, "resolver" | "transport" | "timeoutMs">): void {
    this.options = { ...this.options, ...network };
    this.cache.clear();
  }

  /** The validated metadata of the document at `url`; throws `invalid_client` with the reason. */
  async load(url: string, now = Date.now()): Promise<ClientMetadataInput> {
    const cached = this.cache.get(url);
    if (cached && cached.expires > now) {
      // Refresh recency (Map keeps insertion order: least recently used first).
      this.cache.delete(url);
      this.cache.set(url, cached);
      if (cached.ok) return cached.metadata;
      throw new OAuthError("invalid_client", `client metadata document: ${cached.error}`, { reason: "metadata_document_cached_failure" });
    }
    const pending = this.inFlight.get(url);
    if (pending) return pending;
    if (this.inFlight.size >= (this.options.maxConcurrentFetches ?? METADATA_DOCUMENT_LIMITS.concurrentFetches)) {
      // Not the client's fault (so not invalid_client, which tells MCP clients to forget their registration).
      throw new OAuthError("temporarily_unavailable", "client metadata documents cannot be fetched right now; try again shortly", {
        status: 503,
        reason: "metadata_document_busy",
      });
    }
    const loading = this.fetchAndRemember(url, now).finally(() => this.inFlight.delete(url));
    this.inFlight.set(url, loading);
    return loading;
  }

  private async fetchAndRemember(url: string, now: number): Promise<ClientMetadataInput> {
    try {
      const metadata = await this.fetchAndValidate(url);
      this.remember(url, { ok: true, metadata, expires: now + (this.options.ttlMs ?? METADATA_DOCUMENT_LIMITS.ttlMs) });
      return metadata;
    } catch (error) {
      const message =
        error instanceof OAuthError ? error.description : error instanceof GuardedFetchError ? fetchFailureText(error) : "could not be loaded";
      this.remember(url, { ok: false, error: message, expires: now + (this.options.failureTtlMs ?? METADATA_DOCUMENT_LIMITS.failureTtlMs) });
      throw new OAuthError("invalid_client", `client metadata document: ${message}`, {
        reason: error instanceof GuardedFetchError ? `metadata_document_${error.failure}` : "metadata_document_invalid",
        cause: error,
      });
    }
  }

  /** Forgets a cached document (admin action, tests). */
  forget(url: string): void {
    this.cache.delete(url);
  }

  get size(): number {
    return this.cache.size;
  }

  private remember(url: string, entry: CacheEntry): void {
    this.cache.delete(url);
    this.cache.set(url, entry);
    const max = this.options.maxEntries ?? METADATA_DOCUMENT_LIMITS.cacheEntries;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value as string);
  }

  private async fetchAndValidate(url: string): Promise<ClientMetadataInput> {
    const problem = checkClientIdUrl(url);
    if (problem) throw new OAuthError("invalid_client", `client_id URL ${problem}`);
    const { text } = await guardedFetch(url, this.options);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new OAuthError("invalid_client", "is not JSON");
    }
    if (typeof document !== "object" || document === null || Array.isArray(document)) throw new OAuthError("invalid_client", "is not a JSON object");
    const fields = document as Record<string, unknown>;
    if (fields.client_id !== url) throw new OAuthError("invalid_client", "its client_id does not equal its URL");
    if (fields.client_secret !== undefined || fields.client_secret_expires_at !== undefined) {
      throw new OAuthError("invalid_client", "must not contain a client secret");
    }
    let metadata: ClientMetadataInput;
    try {
      metadata = validateClientMetadata(fields, { defaultAuthMethod: "none" });
    } catch (error) {
      throw new OAuthError("invalid_client", error instanceof OAuthError ? error.description : "has invalid metadata");
    }
    if (metadata.tokenEndpointAuthMethod !== "none") {
      throw new OAuthError("invalid_client", "token_endpoint_auth_method must be none (metadata document clients are public)");
    }
    return { ...metadata, legacy: false };
  }
}
