/** GET /.well-known/oauth-authorization-server: RFC 8414 Authorization Server Metadata (CORS at host level). */
import type { LoaderFunctionArgs } from "@remix-run/node";

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.authorizationServerMetadata();
}
