/** POST /api/oauth/revoke: token revocation (RFC 7009). Thin adapter over services.oauth. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";

export async function action({ request, context }: ActionFunctionArgs) {
  return context.services.oauth.revoke(request, context.meta);
}

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.methodNotAllowed();
}
