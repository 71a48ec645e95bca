/**
 * POST /api/oauth/register: dynamic client registration (RFC 7591 §3), also accepting the original's
 * `{ "name", "redirectUris" }` body. Answers 201 with the client's metadata (RFC 7591 §3.2.1); a confidential
 * client's secret is in that answer and nowhere else.
 */
import type { OAuthDeps } from "./deps.ts";
import type { OAuthHttpRequest } from "./endpoint-http.ts";
import { OAuthError } from "./errors.ts";
import { CLIENT_METADATA_LIMITS, validateClientMetadata } from "./client-metadata.ts";
import { readText } from "./request-params.ts";

export async function handleRegistrationRequest(deps: OAuthDeps, request: OAuthHttpRequest): Promise<{ body: Record<string, unknown>; clientDbId: string }> {
  if (request.method !== "POST") throw new OAuthError("invalid_request", "use POST", { status: 405 });
  const contentType = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (contentType !== "application/json") {
    throw new OAuthError("invalid_client_metadata", "the body must be a JSON object (Content-Type: application/json)", { status: 400 });
  }
  let text: string;
  try {
    text = await readText(request, CLIENT_METADATA_LIMITS.bodyBytes);
  } catch (error) {
    if (error instanceof OAuthError) throw new OAuthError("invalid_client_metadata", error.description, { status: error.status });
    throw error;
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OAuthError("invalid_client_metadata", "the body is not valid JSON");
  }
  const input = validateClientMetadata(body);
  const { client, clientSecret } = await deps.clients.register(input);
  deps.emit.clientRegistered(client.id, "dynamic");
  const response: Record<string, unknown> = {
    client_id: client.clientId,
    ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}),
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    ...input.metadata,
  };
  if (input.legacy) {
    // The original's clients read camelCase fields.
    Object.assign(response, {
      clientId: client.clientId,
      ...(clientSecret ? { clientSecret } : {}),
      name: client.name,
      redirectUris: client.redirectUris,
    });
  }
  return { body: response, clientDbId: client.id };
}
