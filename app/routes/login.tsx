import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, type HeadersFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import type { GoogleSignInErrorCode } from "../../server/auth/google.ts";
import { Page } from "../components/page";

export const meta: MetaFunction = () => [{ title: "Sign in · MCP OAuth Server" }];

/** What went wrong in the last attempt (`/login?error=…`), in words; unknown codes show nothing. */
const ERRORS: Record<`google_${GoogleSignInErrorCode}` | "csrf", string> = {
  csrf: "Your sign-in form expired. Please try again.",
  google_access_denied: "Google sign-in was cancelled.",
  google_state: "That Google sign-in expired or was not started here. Please try again.",
  google_unverified_email: "Your Google account's email address is not verified, so it cannot be used to sign in.",
  google_unavailable: "Google could not be reached. Please try again in a moment.",
  google_provider_error: "Google refused the sign-in. Please try again.",
  google_disabled: "Sign-in with Google is not configured on this server.",
  google_failed: "Sign-in with Google failed. Please try again.",
};

/** The page carries a CSRF token (and who is signed in): never stored by a cache. */
export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders }) => ({
  "Cache-Control": actionHeaders.get("Cache-Control") ?? loaderHeaders.get("Cache-Control") ?? "no-store",
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { auth, csrf, env } = context.services;
  const params = new URL(request.url).searchParams;
  const returnTo = auth.safeReturnTo(params.get("returnTo"));
  if (await auth.getUser(request)) throw redirect(returnTo);
  const { token, setCookie } = await csrf.issue(request);
  const code = params.get("error") ?? "";
  const error = Object.hasOwn(ERRORS, code) ? ERRORS[code as keyof typeof ERRORS] : null;
  return json(
    { returnTo, csrf: token, devLogin: env.devLoginEnabled, google: env.googleConfigured, error },
    { headers: { "Cache-Control": "no-store", ...(setCookie ? { "Set-Cookie": setCookie } : {}) } },
  );
}

export async function action({ request, context }: ActionFunctionArgs) {
  const { auth, csrf, env } = context.services;
  if (request.method !== "POST") throw new Response(null, { status: 405, headers: { Allow: "GET, HEAD, POST" } });
  const form = await request.formData().catch(() => null);
  if (!form) return json({ error: "The sign-in form could not be read." }, { status: 400 });
  const returnTo = auth.safeReturnTo(form.get("returnTo"));
  if (!(await csrf.verify(request, form))) {
    return json({ error: "Your sign-in form expired. Please try again." }, { status: 403 });
  }
  if (!env.devLoginEnabled) return json({ error: "The development sign-in is disabled." }, { status: 403 });
  const email = String(form.get("email") ?? "").trim().toLowerCase();
  if (!/^[^\s@]{1,64}@[^\s@]{1,255}$/.test(email) || email.length > 320) {
    return json({ error: "Enter a valid email address." }, { status: 400 });
  }
  const { user, setCookie } = await auth.signIn(
    { email, name: email.split("@")[0], provider: "dev", providerAccountId: email },
    { ip: context.meta.ip, userAgent: context.meta.userAgent },
  );
  context.meta.userId = user.id;
  return redirect(returnTo, { headers: { "Set-Cookie": setCookie } });
}

export default function Login() {
  const { returnTo, csrf, devLogin, google, error } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  return (
    <Page title="Sign in">
      {error && !result?.error ? (
        <p role="alert" className="mb-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      ) : null}
      {google ? (
        <Form method="post" action={`/auth/google?returnTo=${encodeURIComponent(returnTo)}`} reloadDocument>
          <input type="hidden" name="csrf" value={csrf} />
          <button
            type="submit"
            className="w-full rounded-md border border-gray-300 bg-white px-4 py-2 text-sm font-medium text-gray-800 shadow-sm hover:bg-gray-50 focus:outline-none focus:ring-2 focus:ring-blue-500"
          >
            Sign in with Google
          </button>
        </Form>
      ) : null}
      {google && devLogin ? <hr className="my-6 border-gray-200" /> : null}
      {devLogin ? (
        <Form method="post" className="space-y-4" reloadDocument>
          <input type="hidden" name="csrf" value={csrf} />
          <input type="hidden" name="returnTo" value={returnTo} />
          <div>
            <label htmlFor="email" className="block text-sm font-medium text-gray-700">
              Email
            </label>
            <input
              id="email"
              name="email"
              type="email"
              autoComplete="email"
              required
              className="mt-1 block w-full rounded-md border border-gray-300 px-3 py-2 text-sm shadow-sm focus:border-blue-500 focus:outline-none focus:ring-1 focus:ring-blue-500"
            />
          </div>
          {result?.error ? (
            <p role="alert" className="text-sm text-red-700">
              {result.error}
            </p>
          ) : null}
          <button
            type="submit"
            className="w-full rounded-md bg-blue-600 px-4 py-2 text-sm font-medium text-white shadow-sm hover:bg-blue-700 focus:outline-none focus:ring-2 focus:ring-blue-500 focus:ring-offset-2"
          >
            Sign in (development)
          </button>
          <p className="text-xs text-gray-500">Development sign-in: no password is checked.</p>
        </Form>
      ) : null}
      {!google && !devLogin ? <p className="text-sm text-gray-600">No sign-in method is configured.</p> : null}
    </Page>
  );
}
