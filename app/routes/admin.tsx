import { json, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Outlet, useLoaderData, useRouteError } from "@remix-run/react";
import { AdminShell } from "../components/admin/shell";
import { AdminErrorPage } from "../components/admin/error-page";
import { ToastProvider } from "../components/ui/toast";
import { callApi } from "../lib/api.server";
import { ApiProvider } from "../lib/trpc";

export const meta: MetaFunction = () => [{ title: "Admin · MCP OAuth Server" }, { name: "robots", content: "noindex" }];

// Private, per-person pages: never cached by a browser or a proxy.
export const headers: HeadersFunction = ({ loaderHeaders }) => {
  const headers = new Headers({ "Cache-Control": "private, no-store" });
  const cookie = loaderHeaders.get("Set-Cookie");
  if (cookie) headers.set("Set-Cookie", cookie);
  return headers;
};

/** The console's frame: anonymous -> sign-in, signed-in non-admin -> 403 page. Every child loader checks again. */
export async function loader(args: LoaderFunctionArgs) {
  const me = await callApi(args, (api) => api.me.profile());
  if (me.role !== "ADMIN") throw json({ email: me.email }, { status: 403, headers: { "Cache-Control": "private, no-store" } });
  const { token, setCookie } = await args.context.services.csrf.issue(args.request);
  return json({ email: me.email, csrf: token }, { headers: setCookie ? { "Set-Cookie": setCookie } : {} });
}

export default function AdminLayout() {
  const { email, csrf } = useLoaderData<typeof loader>();
  return (
    <ApiProvider>
      <ToastProvider>
        <AdminShell email={email} csrf={csrf}>
          <Outlet />
        </AdminShell>
      </ToastProvider>
    </ApiProvider>
  );
}

export function ErrorBoundary() {
  return <AdminErrorPage error={useRouteError()} />;
}
