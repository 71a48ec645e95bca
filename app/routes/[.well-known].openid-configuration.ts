/** GET /.well-known/openid-configuration: the RFC 8414 metadata again, for clients that only look at the OIDC path. */
import type { LoaderFunctionArgs } from "@remix-run/node";

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.authorizationServerMetadata();
}
