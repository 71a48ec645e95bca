import { redirect, type LoaderFunctionArgs } from "@remix-run/node";

/**
 * GET /api/auth/signin: the original's (NextAuth) sign-in address, kept for bookmarks and its docs. It sends the
 * browser to /login; NextAuth's `callbackUrl` (a path, or an absolute URL on APP_URL) becomes `returnTo`, checked
 * like every other (same-origin paths only).
 */
export function loader({ request, context }: LoaderFunctionArgs) {
  const { auth, env } = context.services;
  const appOrigin = new URL(env.APP_URL).origin;
  let callback = new URL(request.url).searchParams.get("callbackUrl") ?? undefined;
  if (callback?.startsWith(appOrigin + "/")) callback = callback.slice(appOrigin.length);
  return redirect(auth.loginUrl(auth.safeReturnTo(callback)), { headers: { "Cache-Control": "no-store" } });
}
