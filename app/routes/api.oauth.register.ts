/** POST /api/oauth/register: dynamic client registration (RFC 7591; also the original's { name, redirectUris } body). Thin adapter over services.oauth. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from "@remix-run/node";

export async function action({ request, context }: ActionFunctionArgs) {
  return context.services.oauth.register(request, context.meta);
}

export async function loader({ context }: LoaderFunctionArgs) {
  return context.services.oauth.methodNotAllowed();
}
