import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useNavigate, useRevalidator } from "@remix-run/react";
import { useMutation } from "@tanstack/react-query";
import { Card } from "@tremor/react";
import { useState, type ReactNode } from "react";
import { ClientKindBadge, StatusBadge } from "../components/admin/badges";
import { Breadcrumb } from "../components/admin/breadcrumb";
import { ClientForm, SecretModal } from "../components/admin/client-form";
import { GrantsTable } from "../components/admin/grants-table";
import { PageHeader } from "../components/admin/shell";
import { Button, buttonClass } from "../components/ui/button";
import { ConfirmButton } from "../components/ui/confirm-dialog";
import { EmptyState } from "../components/ui/empty-state";
import { Modal } from "../components/ui/modal";
import { Pagination } from "../components/ui/pagination";
import { Time } from "../components/ui/time";
import { useToast } from "../components/ui/toast";
import { callApi } from "../lib/api.server";
import { errorMessage, useActionMutation, useTRPC } from "../lib/trpc";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.client.name ?? "Client"} · Admin · MCP OAuth Server` }];

export async function loader(args: LoaderFunctionArgs) {
  const id = args.params.id ?? "";
  const cursor = new URL(args.request.url).searchParams.get("cursor")?.slice(0, 100) || undefined;
  return callApi(args, async (api) => {
    const [client, grants, options] = await Promise.all([
      api.clients.get({ id }),
      api.tokens.list({ clientDbId: id, cursor, limit: 25 }),
      api.clients.options(),
    ]);
    return { client, grants, options };
  });
}

export default function ClientPage() {
  const { client, grants, options } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const toast = useToast();
  const navigate = useNavigate();
  const revalidator = useRevalidator();
  const [secret, setSecret] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);

  const setDisabled = useActionMutation(trpc.clients.setDisabled.mutationOptions(), {
    success: (r) => (r.disabled ? "Client disabled: its tokens are refused." : "Client enabled."),
  });
  const setDpop = useActionMutation(trpc.clients.setDpopRequired.mutationOptions(), {
    success: (r) => (r.dpopRequired ? "DPoP required: token requests without a proof are refused." : "DPoP optional."),
  });
  const revokeAll = useActionMutation(trpc.tokens.revokeForClient.mutationOptions(), {
    success: (r) => `${r.grants} grant${r.grants === 1 ? "" : "s"} revoked (${r.accessTokens} access, ${r.refreshTokens} refresh tokens).`,
  });
  const revokeOne = useActionMutation(trpc.tokens.revoke.mutationOptions(), { success: "Grant revoked." });
  const rotate = useActionMutation(trpc.clients.rotateSecret.mutationOptions({ onSuccess: (r) => setSecret(r.clientSecret) }), {
    success: "New secret issued; the old one no longer works.",
  });
  const remove = useMutation(
    trpc.clients.delete.mutationOptions({
      onSuccess(r) {
        toast.show({ tone: "success", message: `Client deleted; ${r.grants} grant${r.grants === 1 ? "" : "s"} revoked.` });
        navigate("/admin/clients");
      },
      onError: (error) => toast.show({ tone: "error", message: errorMessage(error) }),
    }),
  );
  const update = useMutation(
    trpc.clients.update.mutationOptions({
      onSuccess() {
        setEditing(false);
        toast.show({ tone: "success", message: "Client updated." });
        revalidator.revalidate();
      },
    }),
  );

  const editable = client.kind !== "METADATA_DOCUMENT";
  return (
    <>
      <Breadcrumb to="/admin/clients" label="Clients" />
      <PageHeader
        title={client.name}
        description={
          <span className="flex flex-wrap items-center gap-2">
            <ClientKindBadge kind={client.kind} />
            <StatusBadge disabled={client.disabled} />
            <span>{client.type} client</span>
          </span>
        }
        actions={
          <>
            <Link to={`/admin/clients/${client.id}/doctor`} className={buttonClass("secondary", "sm")}>
              Connection doctor
            </Link>
            {editable ? (
              <Button
                size="sm"
                onClick={() => {
                  update.reset();
                  setEditing(true);
                }}
              >
                Edit
              </Button>
            ) : null}
            {client.type === "confidential" && client.tokenEndpointAuthMethod !== "private_key_jwt" ? (
              <ConfirmButton
                label="Rotate secret"
                tone="primary"
                title="Issue a new client secret?"
                description="The current secret stops working at once: update the application's configuration with the new one. Issued tokens stay valid."
                confirmLabel="Rotate secret"
                onConfirm={() => rotate.mutateAsync({ id: client.id })}
              />
            ) : null}
            {client.disabled ? (
              <Button size="sm" onClick={() => setDisabled.mutate({ id: client.id, disabled: false })} disabled={setDisabled.isPending}>
                Enable
              </Button>
            ) : (
              <ConfirmButton
                label="Disable"
                title={`Disable ${client.name}?`}
                description="It can no longer sign anyone in or refresh tokens, and its access tokens are refused at once. Grants are kept: enabling it again restores them."
                confirmLabel="Disable client"
                onConfirm={() => setDisabled.mutateAsync({ id: client.id, disabled: true })}
              />
            )}
            <ConfirmButton
              label="Revoke all tokens"
              disabled={client.counts.activeGrants === 0}
              title={`Revoke every token of ${client.name}?`}
              description={`All ${client.counts.activeGrants} active grants (for ${client.counts.users} people) are revoked; their access and refresh tokens stop working at once.`}
              confirmLabel="Revoke all tokens"
              onConfirm={() => revokeAll.mutateAsync({ clientDbId: client.id })}
            />
            <ConfirmButton
              label="Delete"
              title={`Delete ${client.name}?`}
              description="Its tokens are revoked first, then the client and its grants and consents are removed. This cannot be undone; a dynamic client may register again."
              confirmLabel="Delete client"
              onConfirm={() => remove.mutateAsync({ id: client.id })}
            />
          </>
        }
      />

      <section aria-label="Usage" className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <Count label="Active grants" value={client.counts.activeGrants} />
        <Count label="People" value={client.counts.users} />
        <Count label="Live access tokens" value={client.counts.activeAccessTokens} />
        <Count label="Live refresh tokens" value={client.counts.activeRefreshTokens} />
        <Count label="Remembered consents" value={client.counts.consents} />
        <Count label="Revoked grants" value={client.counts.revokedGrants} />
      </section>

      <div className="mt-6 grid grid-cols-1 gap-4 lg:grid-cols-2 [&>*]:min-w-0">
        <Card className="p-4">
          <h2 className="text-sm font-semibold text-gray-900">Registration</h2>
          <dl className="mt-3 grid grid-cols-1 gap-x-4 gap-y-2 text-sm sm:grid-cols-[max-content_1fr]">
            <Item label="Client ID">
              <span className="break-all font-mono text-xs">{client.clientId}</span>
            </Item>
            <Item label="Authentication">
              <span className="font-mono text-xs">{client.tokenEndpointAuthMethod}</span>
            </Item>
            {client.tokenEndpointAuthMethod === "private_key_jwt" ? (
              <Item label="Public keys">
                <span className="break-all font-mono text-xs">{client.jwksUri ?? `${client.inlineKeys ?? 0} key(s) stored (JWK Set)`}</span>
              </Item>
            ) : null}
            <Item label="Grant types">
              <span className="font-mono text-xs">{client.grantTypes.join(", ")}</span>
            </Item>
            <Item label="Scopes">
              <span className="font-mono text-xs">{client.scopes.join(" ")}</span>
            </Item>
            <Item label="Application type">{client.applicationType}</Item>
            <Item label="DPoP (RFC 9449)">
              <span className="mr-2">{client.dpopRequired ? "required: every token is bound to the client's key" : "optional"}</span>
              <Button
                size="sm"
                onClick={() => setDpop.mutate({ id: client.id, dpopRequired: !client.dpopRequired })}
                disabled={setDpop.isPending}
              >
                {client.dpopRequired ? "Make optional" : "Require DPoP"}
              </Button>
            </Item>
            {client.clientUri ? (
              <Item label="Home page">
                <span className="break-all">{client.clientUri}</span>
              </Item>
            ) : null}
            <Item label="Created">
              <Time value={client.createdAt} />
              {client.createdBy ? ` by ${client.createdBy.email}` : ""}
            </Item>
            {client.type === "confidential" && client.tokenEndpointAuthMethod !== "private_key_jwt" ? (
              <Item label="Secret rotated">
                <Time value={client.secretRotatedAt} />
              </Item>
            ) : null}
            <Item label="First token">
              <Time value={client.firstTokenAt} />
            </Item>
            <Item label="Last used">
              <Time value={client.lastUsedAt} />
            </Item>
            {client.kind === "METADATA_DOCUMENT" ? (
              <Item label="Document fetched">
                <Time value={client.metadataFetchedAt} />
              </Item>
            ) : null}
          </dl>
        </Card>
        <Card className="p-4">
          <h2 className="text-sm font-semibold text-gray-900">Redirect URIs</h2>
          {client.redirectUris.length === 0 ? <p className="mt-3 text-sm text-gray-500">None: a machine client gets its tokens at the token endpoint, with no browser redirect.</p> : null}
          <ul className="mt-3 space-y-1">
            {client.redirectUris.map((uri) => (
              <li key={uri} className="break-all font-mono text-xs">
                {uri}
              </li>
            ))}
          </ul>
          {!editable ? <p className="mt-3 text-xs text-gray-500">Described by its metadata document: change the document to change these.</p> : null}
          <details className="mt-4">
            <summary className="cursor-pointer text-sm text-blue-700">Registered metadata (JSON)</summary>
            <pre className="mt-2 max-h-72 overflow-auto rounded bg-gray-50 p-3 text-xs">{JSON.stringify(client.metadata, null, 2)}</pre>
          </details>
        </Card>
      </div>

      <h2 className="mb-3 mt-8 text-base font-semibold text-gray-900">Active grants</h2>
      {grants.items.length === 0 ? (
        <EmptyState title="No active grants.">Nobody has a working token for this client.</EmptyState>
      ) : (
        <GrantsTable
          caption={`Active grants of ${client.name}`}
          grants={grants.items}
          show={{ user: true, client: false }}
          onRevoke={(grant) => revokeOne.mutateAsync({ grantId: grant.id })}
        />
      )}
      <Pagination page={grants} noun="grants" />

      <SecretModal open={secret !== null} title="New client secret" clientId={client.clientId} secret={secret} onClose={() => setSecret(null)} />
      {editable ? (
        <Modal open={editing} title="Edit client" onClose={() => setEditing(false)} wide>
          <ClientForm
            mode="edit"
            initial={{ name: client.name, redirectUris: client.redirectUris, scopes: client.scopes }}
            machine={client.redirectUris.length === 0}
            scopeOptions={options.scopes}
            busy={update.isPending}
            error={update.error ? errorMessage(update.error) : null}
            onSubmit={(values) =>
              update.mutate({ id: client.id, name: values.name, redirectUris: client.redirectUris.length === 0 ? undefined : values.redirectUris, scopes: values.scopes })
            }
            onCancel={() => setEditing(false)}
          />
        </Modal>
      ) : null}
    </>
  );
}

function Count({ label, value }: { label: string; value: number }) {
  return (
    <Card className="p-3">
      <p className="text-xs text-gray-600">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums text-gray-900">{value}</p>
    </Card>
  );
}

function Item({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-gray-500">{label}</dt>
      <dd className="min-w-0 text-gray-900">{children}</dd>
    </>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
