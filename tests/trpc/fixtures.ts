/**
 * Data the tRPC tests start from, made with the authorization server's own functions where they exist: a client
 * row as dynamic registration stores it, and a grant whose tokens come from `issueTokens` (as the token endpoint
 * issues them) with a remembered consent.
 */
import type { Services } from "../../server/services.ts";
import { generateClientId } from "../../server/oauth/client-secrets.ts";
import { rememberConsent } from "../../server/oauth/consents.ts";
import { issueTokens } from "../../server/oauth/tokens.ts";

export async function makeClient(services: Services, data: { name?: string; kind?: "DYNAMIC" | "METADATA_DOCUMENT" | "MANUAL"; clientId?: string } = {}) {
  return services.prisma.client.create({
    data: {
      clientId: data.clientId ?? generateClientId(),
      name: data.name ?? "Test client",
      kind: data.kind ?? "DYNAMIC",
      redirectUris: ["https://app.example/callback"],
      grantTypes: ["authorization_code", "refresh_token"],
      scope: "mcp:tools",
    },
  });
}

/** A user connecting a client: grant, access + refresh token, remembered consent. */
export async function connectApp(services: Services, userId: string, clientDbId: string) {
  const resource = `${services.env.APP_URL}/mcp`;
  const grant = await services.prisma.grant.create({ data: { userId, clientId: clientDbId, scope: "mcp:tools", resource } });
  const issued = await services.prisma.$transaction((tx) =>
    issueTokens(tx, services.env, { grantId: grant.id, clientDbId, userId, scope: "mcp:tools", resource, refresh: { scope: "mcp:tools", resource } }),
  );
  await rememberConsent(services.prisma, { userId, clientDbId, resource }, ["mcp:tools"]);
  return { grantId: grant.id, accessToken: issued.response.access_token, refreshToken: issued.response.refresh_token! };
}
