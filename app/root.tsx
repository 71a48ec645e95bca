import type { HeadersFunction, LinksFunction, MetaFunction } from "@remix-run/node";
import { Links, Meta, Outlet, Scripts, ScrollRestoration, isRouteErrorResponse, useRouteError } from "@remix-run/react";
import { useNonce } from "./components/nonce";
import { Page } from "./components/page";
import { errorPageHeaders } from "./lib/error-headers";
import stylesheet from "./tailwind.css";

export const links: LinksFunction = () => [
  { rel: "stylesheet", href: stylesheet },
  { rel: "icon", href: "/favicon.svg", type: "image/svg+xml" },
];

export const meta: MetaFunction = () => [{ title: "MCP OAuth Server" }];

/** Only when a page failed and this route's ErrorBoundary shows it; pages' own headers come from their routes. */
export const headers: HeadersFunction = ({ errorHeaders }) => errorPageHeaders(errorHeaders);

export function Layout({ children }: { children: React.ReactNode }) {
  const nonce = useNonce();
  return (
    <html lang="en" className="h-full">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body className="h-full bg-gray-50 text-gray-900 antialiased">
        {children}
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  );
}

export default function App() {
  return <Outlet />;
}

export function ErrorBoundary() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const title =
    status === 404 ? "Page not found" : status === 403 ? "Forbidden" : status === 401 ? "Sign-in required" : "Something went wrong";
  const detail = isRouteErrorResponse(error) && typeof error.data === "string" ? error.data : null;
  return (
    <Page title={title}>
      <p className="text-sm text-gray-600">{detail ?? (status === 404 ? "There is nothing at this address." : `Error ${status}.`)}</p>
      <p className="mt-4 text-sm">
        <a className="text-blue-700 underline" href="/">
          Back to the start page
        </a>
      </p>
    </Page>
  );
}
