/** POST /api/oauth/token: the token endpoint (RFC 6749 §3.2; authorization_code and refresh_token grants). Thin adapter over services.oauth. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";

export async function action({ request, context }: ActionFunctionArgs) {
  return context.services.oauth.token(request, context.meta);
}

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.methodNotAllowed();
}
