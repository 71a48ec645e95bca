/** GET /.well-known/oauth-protected-resource: RFC 9728 metadata of the root resource (`resource` = APP_URL). */
import type { LoaderFunctionArgs } from "@remix-run/node";

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.protectedResourceMetadata("");
}
