import { json, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Outlet, useLoaderData, useRouteError } from "@remix-run/react";
import { AdminShell } from "../components/admin/shell";
import { AdminErrorPage } from "../components/admin/error-page";
import { ToastProvider } from "../components/ui/toast";
import { callApi } from "../lib/api.server";
import { privatePageHeaders, withCsrfToken } from "../lib/private-page.server";
import { ApiProvider } from "../lib/trpc";

export const meta: MetaFunction = () => [{ title: "Admin · MCP OAuth Server" }, { name: "robots", content: "noindex" }];

export const headers = privatePageHeaders;

/** The console's frame: anonymous -> sign-in, signed-in non-admin -> 403 page. Every child loader checks again. */
export async function loader(args: LoaderFunctionArgs) {
  const me = await callApi(args, (api) => api.me.profile());
  if (me.role !== "ADMIN") throw json({ email: me.email }, { status: 403, headers: { "Cache-Control": "private, no-store" } });
  return withCsrfToken(args, { email: me.email });
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
