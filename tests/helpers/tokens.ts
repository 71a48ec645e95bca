/**
 * Test data the way the authorization server writes it (prisma/schema.prisma): a User, a Client, a Grant and an
 * AccessToken whose `tokenHash` is the SHA-256 digest of the token. For tests of the resource server that do not
 * need to go through the OAuth flow; tests/helpers/oauth-flow.ts gets real tokens from the authorization server.
 */
import { randomBytes } from "node:crypto";
import { SecretPrefix, randomSecret, sha256Hex } from "../../server/crypto.ts";
import type { PrismaClient, Role } from "../../server/db/client.ts";

export interface MintOptions {
  email?: string;
  name?: string;
  role?: Role;
  /** Reuse a user instead of creating one. */
  userId?: string;
  /** Reuse a client (row id) instead of creating one. */
  clientDbId?: string;
  clientName?: string;
  scope?: string;
  /** Default: `${appUrl}/mcp`. */
  resource?: string;
  /** Bind the token to this DPoP key thumbprint (RFC 9449 `cnf.jkt`). */
  dpopJkt?: string;
  /** Negative for an already expired token. */
  expiresInSeconds?: number;
}

export interface MintedToken {
  token: string;
  tokenId: string;
  grantId: string;
  userId: string;
  email: string;
  clientDbId: string;
  clientId: string;
}

export function uniqueEmail(prefix = "user"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}@example.test`;
}

export async function mintAccessToken(prisma: PrismaClient, appUrl: string, options: MintOptions = {}): Promise<MintedToken> {
  const user = options.userId
    ? await prisma.user.findUniqueOrThrow({ where: { id: options.userId } })
    : await prisma.user.create({
        data: { email: options.email ?? uniqueEmail(), name: options.name ?? "Test Person", role: options.role ?? "USER" },
      });
  const client = options.clientDbId
    ? await prisma.client.findUniqueOrThrow({ where: { id: options.clientDbId } })
    : await prisma.client.create({
        data: {
          clientId: randomSecret(SecretPrefix.clientId, 12),
          name: options.clientName ?? "Test MCP Client",
          redirectUris: ["http://127.0.0.1:9999/callback"],
          scope: "mcp:tools mcp:admin",
        },
      });
  const scope = options.scope ?? "mcp:tools";
  const resource = options.resource ?? `${appUrl}/mcp`;
  const grant = await prisma.grant.create({ data: { userId: user.id, clientId: client.id, scope, resource } });
  const token = randomSecret(SecretPrefix.accessToken);
  const accessToken = await prisma.accessToken.create({
    data: {
      tokenHash: sha256Hex(token),
      grantId: grant.id,
      clientId: client.id,
      userId: user.id,
      scope,
      resource,
      expiresAt: new Date(Date.now() + (options.expiresInSeconds ?? 3600) * 1000),
      dpopJkt: options.dpopJkt ?? null,
    },
  });
  return {
    token,
    tokenId: accessToken.id,
    grantId: grant.id,
    userId: user.id,
    email: user.email,
    clientDbId: client.id,
    clientId: client.clientId,
  };
}
