/**
 * What the admin routes show for errors. A signed-in non-admin gets a plain 403 that says why and where to go
 * instead; other statuses get a short explanation. Rendered with the shared card look of app/components/page.tsx.
 */
import { isRouteErrorResponse, useRouteError } from "@remix-run/react";
import { Page } from "../page";

export function AdminErrorPage({ error }: { error: unknown }) {
  const status = isRouteErrorResponse(error) ? error.status : 500;
  if (status === 403) {
    const email = isRouteErrorResponse(error) && typeof error.data === "object" && error.data ? (error.data as { email?: string }).email : undefined;
    return (
      <Page title="403 · Administrators only">
        <p className="text-sm text-gray-700">
          {email ? (
            <>
              You are signed in as <strong>{email}</strong>, which is not an administrator account.
            </>
          ) : (
            "This account is not an administrator account."
          )}{" "}
          The admin console is for the people who run this server.
        </p>
        <p className="mt-3 text-sm text-gray-600">If you need access, ask an administrator to promote your account.</p>
        <div className="mt-6 flex flex-wrap items-center gap-4 text-sm">
          <a className="text-blue-700 underline" href="/account">
            Manage your connected apps
          </a>
          <a className="text-blue-700 underline" href="/logout">
            Sign in with another account
          </a>
        </div>
      </Page>
    );
  }
  const message = isRouteErrorResponse(error) && typeof error.data === "string" ? error.data : null;
  return <ErrorPanel status={status} message={message} />;
}

/** An error shown inside the console frame (a missing client, a bad filter). */
export function ErrorPanel({ status, message }: { status: number; message: string | null }) {
  const title = status === 404 ? "Not found" : status === 400 ? "That request was not valid" : status >= 500 ? "Something went wrong" : `Error ${status}`;
  return (
    <div role="alert" className="rounded-xl border border-gray-200 bg-white p-8 shadow-sm">
      <h1 className="text-lg font-semibold text-gray-900">{title}</h1>
      <p className="mt-2 text-sm text-gray-600">{message ?? (status >= 500 ? "Please try again. If it keeps happening, check the server log." : `Error ${status}.`)}</p>
      <p className="mt-4 text-sm">
        <a className="text-blue-700 underline" href="/admin">
          Back to the dashboard
        </a>
      </p>
    </div>
  );
}

/** ErrorBoundary of a console page: the error inside the frame. */
export function RouteErrorPanel() {
  const error = useRouteError();
  const status = isRouteErrorResponse(error) ? error.status : 500;
  const message = isRouteErrorResponse(error) && typeof error.data === "string" ? error.data : null;
  return <ErrorPanel status={status} message={message} />;
}
