/**
 * The client registry (I/O): dynamic registration (RFC 7591), lookup by `client_id` (including Client ID Metadata
 * Document URLs, which get a Client row of kind METADATA_DOCUMENT so codes and tokens can reference them), and the
 * sweep of registrations that never obtained a token.
 */
import type pg from "pg";
import type { Prisma, PrismaClient } from "../db/client.ts";
import type { Env } from "../env.ts";
import { generateClientId, generateClientSecret, isConfidentialMethod } from "./client-secrets.ts";
import type { ClientMetadataInput } from "./client-metadata.ts";
import { isClientIdUrl, type MetadataDocumentFetcher } from "./metadata-documents.ts";
import { OAuthError } from "./errors.ts";
import type { ClientCache } from "./client-cache.ts";
import { query } from "./sql.ts";

export type ClientRecord = Prisma.ClientModel;

export interface RegisteredClient {
  client: ClientRecord;
  /** The plaintext secret: returned once, never stored. */
  clientSecret: string | null;
}

export class ClientRegistry {
  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      pool: pg.Pool;
      env: Env;
      metadataDocuments: MetadataDocumentFetcher;
      /** Called when a metadata document client is seen for the first time. */
      onMetadataDocumentClient?: (client: ClientRecord) => void;
      /** Rows kept between requests, emptied by the database's change notifications (client-cache.ts). */
      cache?: ClientCache;
    },
  ) {}

  /** Stores a new dynamically registered client (RFC 7591 §3.1). */
  async register(input: ClientMetadataInput): Promise<RegisteredClient> {
    const secret = isConfidentialMethod(input.tokenEndpointAuthMethod) ? generateClientSecret() : null;
    const client = await this.deps.prisma.client.create({
      data: {
        clientId: generateClientId(),
        clientSecretHash: secret?.hash ?? null,
        name: input.name,
        kind: "DYNAMIC",
        redirectUris: input.redirectUris,
        grantTypes: input.grantTypes,
        responseTypes: input.responseTypes,
        scope: input.scope,
        tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
        applicationType: input.applicationType,
        clientUri: input.clientUri,
        logoUri: input.logoUri,
        dpopRequired: input.dpopBoundAccessTokens,
        metadata: input.metadata as object,
      },
    });
    return { client, clientSecret: secret?.secret ?? null };
  }

  /**
   * The usable client named by `clientId`, or null when unknown, swept or disabled. A metadata document URL is
   * fetched (cached) and its row created or refreshed; a document that cannot be loaded throws `invalid_client`
   * with the reason.
   */
  async find(clientId: string): Promise<ClientRecord | null> {
    return (await this.lookup(clientId, false)).client;
  }

  /**
   * As `find`, and whether the row came from the cache (client authentication reads it there; client-auth.ts reads
   * it again afresh before it refuses anything, so a cached row can only ever let through what a fresh one would
   * have a moment earlier).
   */
  async lookup(clientId: string, cached: boolean): Promise<{ client: ClientRecord | null; fromCache: boolean }> {
    if (clientId.length > 2000) return { client: null, fromCache: false };
    if (isClientIdUrl(clientId)) return { client: await this.findMetadataDocumentClient(clientId), fromCache: false };
    const { cache } = this.deps;
    let client = cached ? cache?.get(clientId) : undefined;
    const fromCache = client !== undefined;
    if (!client) {
      // Plain SQL (sql.ts), same row shape as Prisma's.
      const generation = cache?.begin() ?? 0;
      [client] = await query<ClientRecord>(this.deps.pool, FIND_CLIENT, [clientId]);
      if (client) cache?.set(client, generation);
    }
    return { client: !client || client.disabled ? null : client, fromCache };
  }

  private async findMetadataDocumentClient(url: string): Promise<ClientRecord | null> {
    const existing = await this.deps.prisma.client.findUnique({ where: { clientId: url } });
    if (existing && existing.kind !== "METADATA_DOCUMENT") return null;
    if (existing?.disabled) return null;
    const metadata = await this.deps.metadataDocuments.load(url);
    const data = {
      name: metadata.name,
      redirectUris: metadata.redirectUris,
      grantTypes: metadata.grantTypes,
      responseTypes: metadata.responseTypes,
      scope: metadata.scope,
      tokenEndpointAuthMethod: "none",
      applicationType: metadata.applicationType,
      clientUri: metadata.clientUri,
      logoUri: metadata.logoUri,
      dpopRequired: metadata.dpopBoundAccessTokens,
      metadata: metadata.metadata as object,
    };
    const now = new Date();
    if (existing && sameMetadata(existing, data)) {
      // Unchanged: note the fetch at most every few minutes instead of writing on every request.
      if (!existing.metadataFetchedAt || now.getTime() - existing.metadataFetchedAt.getTime() > 5 * 60_000) {
        await this.deps.prisma.client.update({ where: { id: existing.id }, data: { metadataFetchedAt: now } });
      }
      return existing;
    }
    const client = await this.deps.prisma.client.upsert({
      where: { clientId: url },
      create: { clientId: url, kind: "METADATA_DOCUMENT", ...data, metadataFetchedAt: now },
      update: { ...data, metadataFetchedAt: now },
    });
    if (!existing) this.deps.onMetadataDocumentClient?.(client);
    return client;
  }

  /**
   * Notes that a person is in the middle of authorizing the client (consent page shown), so the sweep leaves it
   * alone. At most one write a minute per client.
   */
  async touch(clientDbId: string, now = new Date()): Promise<void> {
    await query(
      this.deps.pool,
      `UPDATE "Client" SET "lastUsedAt" = $2::timestamp WHERE id = $1 AND ("lastUsedAt" IS NULL OR "lastUsedAt" < $2::timestamp - interval '60 seconds')`,
      [clientDbId, now],
    );
  }

  /**
   * Deletes dynamic and metadata-document registrations that never obtained a token, are older than
   * UNUSED_CLIENT_RETENTION_HOURS and saw no authorization activity (consent page, code) for as long (their codes
   * and consents go with them). A later request naming one gets `invalid_client`, which tells MCP clients to
   * register again.
   *
   * One statement, so the conditions are checked on the row it deletes: issuing a code updates the client row in
   * the same statement (authorize.ts), so a code issued while the sweep runs either commits first (and the row no
   * longer qualifies when the DELETE re-reads it) or finds the client gone.
   */
  async sweepUnused(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.deps.env.UNUSED_CLIENT_RETENTION_HOURS * 3600_000);
    const rows = await query<{ id: string }>(
      this.deps.pool,
      `DELETE FROM "Client" c
        WHERE c.kind IN ('DYNAMIC', 'METADATA_DOCUMENT') AND c."firstTokenAt" IS NULL AND c."createdAt" < $1::timestamp
          AND (c."lastUsedAt" IS NULL OR c."lastUsedAt" < $1::timestamp)
          AND NOT EXISTS (SELECT 1 FROM "Grant" g WHERE g."clientId" = c.id)
        RETURNING c.id`,
      [cutoff],
    );
    return rows.length;
  }
}

function sameMetadata(
  client: ClientRecord,
  data: {
    name: string;
    redirectUris: string[];
    grantTypes: string[];
    scope: string;
    applicationType: string;
    clientUri: string | null;
    logoUri: string | null;
    dpopRequired: boolean;
  },
): boolean {
  return (
    client.dpopRequired === data.dpopRequired &&
    client.name === data.name &&
    client.applicationType === data.applicationType &&
    client.clientUri === data.clientUri &&
    client.logoUri === data.logoUri &&
    client.scope === data.scope &&
    client.redirectUris.join("\n") === data.redirectUris.join("\n") &&
    client.grantTypes.join(" ") === data.grantTypes.join(" ")
  );
}

/** Not a named prepared statement: `*` must follow a migration that adds a column while old nodes still run. */
const FIND_CLIENT = 'SELECT * FROM "Client" WHERE "clientId" = $1';

/** `invalid_client` for an unknown client at the token, revocation or introspection endpoint (RFC 6749 §5.2). */
export function unknownClient(basicAuth: boolean): OAuthError {
  return new OAuthError("invalid_client", "unknown client; register again", {
    basicAuth,
    reason: "unknown_client",
    security: { type: "INVALID_CLIENT", severity: "low", details: { reason: "unknown_client" } },
  });
}
