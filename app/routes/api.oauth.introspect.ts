/** POST /api/oauth/introspect: token introspection (RFC 7662; confidential clients and admins only). Thin adapter over services.oauth. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";

export async function action({ request, context }: ActionFunctionArgs) {
  return context.services.oauth.introspect(request, context.meta);
}

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.methodNotAllowed();
}
