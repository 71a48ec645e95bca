import { json, type LoaderFunctionArgs, type HeadersFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Page } from "../components/page";
import { SignOutForm } from "../components/sign-out-form";

/** The page carries a CSRF token (and who is signed in): never stored by a cache. */
export const headers: HeadersFunction = ({ loaderHeaders, actionHeaders }) => ({
  "Cache-Control": actionHeaders.get("Cache-Control") ?? loaderHeaders.get("Cache-Control") ?? "no-store",
});

export async function loader({ request, context }: LoaderFunctionArgs) {
  const { env, auth, csrf } = context.services;
  const user = await auth.getUser(request);
  if (user) context.meta.userId = user.id;
  // The sign-out form needs a CSRF token; anonymous visitors get no cookie at all.
  const issued = user ? await csrf.issue(request) : null;
  return json(
    {
      issuer: env.APP_URL,
      mcpUrl: `${env.APP_URL}/mcp/mcp`,
      user: user ? { email: user.email, name: user.name, role: user.role } : null,
      csrf: issued?.token ?? null,
    },
    {
      headers: {
        "Cache-Control": "private, no-store",
        ...(issued?.setCookie ? { "Set-Cookie": issued.setCookie } : {}),
      },
    },
  );
}

export default function Index() {
  const { issuer, mcpUrl, user, csrf } = useLoaderData<typeof loader>();
  return (
    <Page title="MCP OAuth Server">
      {user ? (
        <div className="mb-6 flex items-center justify-between gap-4 rounded-md bg-gray-50 px-3 py-2 text-sm">
          <p>
            Signed in as <strong data-testid="signed-in-email">{user.email}</strong>
            {user.role === "ADMIN" ? <span className="ml-2 rounded bg-blue-100 px-1.5 py-0.5 text-xs text-blue-800">admin</span> : null}
          </p>
          <SignOutForm
            csrf={csrf ?? ""}
            className="shrink-0 whitespace-nowrap rounded-md border border-gray-300 bg-white px-3 py-1 text-sm hover:bg-gray-100"
          />
        </div>
      ) : (
        <p className="mb-6 text-sm">
          <a className="text-blue-700 underline" href="/login">
            Sign in
          </a>
        </p>
      )}
      <p className="text-sm text-gray-600">
        An OAuth 2.1 authorization server and MCP resource server. Point your MCP client at:
      </p>
      <pre className="mt-3 overflow-x-auto rounded bg-gray-100 p-3 text-sm">{mcpUrl}</pre>
      <p className="mt-4 text-sm text-gray-600">Issuer: {issuer}</p>
      <nav className="mt-6 flex gap-4 text-sm">
        <a className="text-blue-700 underline" href="/account">
          Your connected apps
        </a>
        {user?.role === "ADMIN" ? (
          <a className="text-blue-700 underline" href="/admin">
            Admin console
          </a>
        ) : null}
      </nav>
    </Page>
  );
}
