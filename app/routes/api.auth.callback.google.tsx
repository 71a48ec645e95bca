import type { LoaderFunctionArgs } from "@remix-run/node";

/**
 * GET /api/auth/callback/google: Google's redirect back (the original's callback URL, so existing Google console
 * settings keep working). Success sets the session cookie and returns to `returnTo`; any failure goes to /login with
 * a message.
 */
export async function loader({ request, context }: LoaderFunctionArgs) {
  const { response, user } = await context.services.auth.google.callback(request, {
    ip: context.meta.ip,
    userAgent: context.meta.userAgent,
  });
  if (user) context.meta.userId = user.id;
  return response;
}
