import { redirect, type ActionFunctionArgs, type LoaderFunctionArgs } from "@remix-run/node";

/** POST /auth/google?returnTo=… (the CSRF-checked form on /login) sends the browser to Google. */
export async function action({ request, context }: ActionFunctionArgs) {
  const { auth, csrf } = context.services;
  if (request.method !== "POST") throw new Response(null, { status: 405, headers: { Allow: "GET, HEAD, POST" } });
  const returnTo = auth.safeReturnTo(new URL(request.url).searchParams.get("returnTo"));
  const form = await request.formData().catch(() => null);
  if (!form || !(await csrf.verify(request, form))) return redirect(auth.loginUrl(returnTo, "csrf"), 303);
  return auth.google.start(request, returnTo);
}

/** A GET (a bookmark, a typed URL) starts nothing: the sign-in page has the button. */
export function loader({ request, context }: LoaderFunctionArgs) {
  const { auth } = context.services;
  return redirect(auth.loginUrl(auth.safeReturnTo(new URL(request.url).searchParams.get("returnTo"))));
}
