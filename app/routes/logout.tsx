import { json, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, type HeadersFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Page } from "../components/page";
import { SignOutForm } from "../components/sign-out-form";

export const meta: MetaFunction = () => [{ title: "Sign out · MCP OAuth Server" }];

/**
 * POST /logout ends the session. It needs the form's CSRF token, and GET only shows the button, so neither a link,
 * an image nor another site's form can sign anyone out.
 */
export async function action({ request, context }: ActionFunctionArgs) {
  const { auth, csrf } = context.services;
  if (request.method !== "POST") throw new Response(null, { status: 405, headers: { Allow: "GET, HEAD, POST" } });
  const form = await request.formData().catch(() => null);
  if (!form || !(await csrf.verify(request, form))) {
    throw new Response("Your sign-out form expired. Please go back, reload the page and try again.", { status: 403 });
  }
  const setCookie = await auth.signOut(request);
  return redirect("/login", { headers: { "Set-Cookie": setCookie, "Cache-Control": "no-store" } });
}

/** The page carries a CSRF token (and who is signed in): never stored by a cache. */
export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders }) => ({
  "Cache-Control": actionHeaders.get("Cache-Control") ?? loaderHeaders.get("Cache-Control") ?? "no-store",
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { auth, csrf } = context.services;
  const user = await auth.getUser(request);
  if (!user) return redirect("/login");
  const { token, setCookie } = await csrf.issue(request);
  return json(
    { email: user.email, csrf: token },
    { headers: { "Cache-Control": "no-store", ...(setCookie ? { "Set-Cookie": setCookie } : {}) } },
  );
}

export default function Logout() {
  const { email, csrf } = useLoaderData<typeof loader>();
  return (
    <Page title="Sign out">
      <p className="mb-4 text-sm text-gray-600">Signed in as {email}.</p>
      <SignOutForm csrf={csrf} className="w-full rounded-md bg-blue-600 px-4 py-2 text-sm font-medium text-white hover:bg-blue-700" />
    </Page>
  );
}
