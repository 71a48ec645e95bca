/**
 * Pages for one signed-in person (the account page, the admin console): never stored by a browser or a proxy, and
 * carrying a CSRF token for their forms (server/auth/csrf.ts) whose cookie, when one is set, is passed on.
 */
import { data, type HeadersFunction, type LoaderFunctionArgs } from "@remix-run/node";
import { errorPageHeaders } from "./error-headers";

export const privatePageHeaders: HeadersFunction = ({ loaderHeaders, errorHeaders }) => {
  const headers = new Headers({ "Cache-Control": "private, no-store", ...errorPageHeaders(errorHeaders) });
  const cookie = loaderHeaders.get("Set-Cookie");
  if (cookie) headers.set("Set-Cookie", cookie);
  return headers;
};

/**
 * The loader's data plus a CSRF token (`csrf`), with the token's cookie. `data()`, not `json()`: with single fetch
 * the values keep their types (a Date stays a Date; remix.env.d.ts).
 */
export async function withCsrfToken<T extends object>({ request, context }: Pick<LoaderFunctionArgs, "request" | "context">, value: T) {
  const { token, setCookie } = await context.services.csrf.issue(request);
  return data({ ...value, csrf: token }, { headers: setCookie ? { "Set-Cookie": setCookie } : {} });
}
