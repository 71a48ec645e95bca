import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { Page } from "../components/page";
import { ConfirmButton } from "../components/ui/confirm-dialog";
import { Time } from "../components/ui/time";
import { ToastProvider } from "../components/ui/toast";
import { callApi } from "../lib/api.server";
import { privatePageHeaders, withCsrfToken } from "../lib/private-page.server";
import { ApiProvider, useActionMutation, useTRPC } from "../lib/trpc";
import { SignOutForm } from "../components/sign-out-form";

export const meta: MetaFunction = () => [{ title: "Your connected apps · MCP OAuth Server" }];

export const headers = privatePageHeaders;

/** Every signed-in person: the apps they allowed, and a way to take that back. Anonymous -> sign-in. */
export async function loader(args: LoaderFunctionArgs) {
  const [me, grants] = await callApi(args, (api) => Promise.all([api.me.profile(), api.me.grants()]));
  return withCsrfToken(args, { me: { email: me.email, role: me.role }, grants });
}

export default function AccountPage() {
  return (
    <ApiProvider>
      <ToastProvider>
        <ConnectedApps />
      </ToastProvider>
    </ApiProvider>
  );
}

function ConnectedApps() {
  const { me, grants, csrf } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const revoke = useActionMutation(trpc.me.revokeGrant.mutationOptions(), { success: "Access revoked. The app has to ask you again." });
  return (
    <Page title="Your connected apps" wide>
      <p className="text-sm text-gray-600">
        Signed in as <strong className="text-gray-900">{me.email}</strong>. These apps can use this server on your behalf. Revoking one stops its
        tokens at once; it has to ask you again to get back in.
      </p>
      {grants.length === 0 ? (
        <div className="mt-6 rounded-lg border border-dashed border-gray-300 px-6 py-8 text-center">
          <p className="text-sm font-medium text-gray-900">No connected apps.</p>
          <p className="mt-1 text-sm text-gray-500">When you allow an MCP client on the consent page, it appears here.</p>
        </div>
      ) : (
        <ul className="mt-6 divide-y divide-gray-200 rounded-lg border border-gray-200" aria-label="Connected apps">
          {grants.map((grant) => (
            <li key={grant.id} className="flex flex-col gap-3 p-4 sm:flex-row sm:items-center sm:justify-between">
              <div className="min-w-0">
                <p className="font-medium text-gray-900">{grant.clientName}</p>
                <p className="mt-0.5 text-xs text-gray-500">
                  <span className="font-mono">{grant.scopes.join(" ")}</span> · allowed <Time value={grant.createdAt} /> · last used{" "}
                  <Time value={grant.lastUsedAt} />
                </p>
              </div>
              <ConfirmButton
                label="Revoke"
                ariaLabel={`Revoke ${grant.clientName}`}
                title={`Revoke access for ${grant.clientName}?`}
                description="Its access and refresh tokens stop working now. You can connect it again later; it will ask for your consent."
                confirmLabel="Revoke access"
                onConfirm={() => revoke.mutateAsync({ grantId: grant.id })}
              />
            </li>
          ))}
        </ul>
      )}
      <div className="mt-6 flex flex-wrap items-center gap-4 text-sm">
        {me.role === "ADMIN" ? (
          <a className="text-blue-700 underline" href="/admin">
            Admin console
          </a>
        ) : null}
        <SignOutForm csrf={csrf} className="text-blue-700 underline" />
      </div>
    </Page>
  );
}
