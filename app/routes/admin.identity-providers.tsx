import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useState } from "react";
import { SeverityBadge, StatusBadge } from "../components/admin/badges";
import { KeySetFieldset, readKeySet, type KeySource } from "../components/admin/key-set-fieldset";
import { PageHeader } from "../components/admin/shell";
import { Button } from "../components/ui/button";
import { ConfirmButton } from "../components/ui/confirm-dialog";
import { EmptyState } from "../components/ui/empty-state";
import { TextField } from "../components/ui/fields";
import { FormFrame } from "../components/ui/form-frame";
import { Modal } from "../components/ui/modal";
import { DataTable, TableCell, TableRow } from "../components/ui/table";
import { Time } from "../components/ui/time";
import { callApi } from "../lib/api.server";
import { errorMessage, useActionMutation, useTRPC } from "../lib/trpc";

export const meta: MetaFunction = () => [{ title: "Identity providers · Admin · MCP OAuth Server" }];

export async function loader(args: LoaderFunctionArgs) {
  return callApi(args, async (api) => {
    const providers = await api.identityProviders.list();
    // Each provider's latest refusals (untrusted key, replay, another client, …): its own security events.
    const events = await Promise.all(providers.map((p) => api.identityProviders.events({ issuer: p.issuer, limit: 5 })));
    return { providers: providers.map((p, i) => ({ ...p, events: events[i].items })) };
  });
}

export default function IdentityProvidersPage() {
  const { providers } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const [adding, setAdding] = useState(false);
  const add = useActionMutation(trpc.identityProviders.add.mutationOptions({ onSuccess: () => setAdding(false) }), { success: (p) => `Now trusting ${p.issuer}.` });
  const setDisabled = useActionMutation(trpc.identityProviders.setDisabled.mutationOptions(), {
    success: (r) => (r.disabled ? "Disabled: its assertions are refused." : "Enabled."),
  });
  const remove = useActionMutation(trpc.identityProviders.remove.mutationOptions(), { success: (r) => `Removed ${r.issuer}; ${r.grants} grant(s) revoked.` });
  return (
    <>
      <PageHeader
        title="Identity providers"
        description="Enterprise identity providers whose ID-JAGs (enterprise-managed authorization) this server accepts: a client they issued an assertion to gets a token for that person, without a consent screen."
        actions={
          <Button tone="primary" size="sm" onClick={() => {
            add.reset();
            setAdding(true);
          }}>
            Add identity provider
          </Button>
        }
      />
      {providers.length === 0 ? (
        <EmptyState title="No trusted identity providers.">Add one to accept ID-JAGs from it (or run mcp-oauth-server idp add).</EmptyState>
      ) : (
        <DataTable caption="Trusted identity providers" columns={["Issuer", "Keys", "New people", "Status", "Active grants", "Added", "Recent refusals", "Actions"]}>
          {providers.map((p) => (
            <TableRow key={p.id}>
              <TableCell className="font-mono text-xs">{p.issuer}</TableCell>
              <TableCell className="max-w-[14rem] truncate font-mono text-xs" title={p.jwksUri ?? undefined}>
                {p.jwksUri ?? `${p.inlineKeys} key(s) stored`}
              </TableCell>
              <TableCell className="text-sm">{p.allowNewUsers ? "created on first use" : "must exist"}</TableCell>
              <TableCell>
                <StatusBadge disabled={p.disabled} />
              </TableCell>
              <TableCell>{p.activeGrants}</TableCell>
              <TableCell>
                <Time value={p.createdAt} />
              </TableCell>
              <TableCell>
                {p.events.length === 0 ? (
                  <span className="text-sm text-gray-500">none</span>
                ) : (
                  <ul className="space-y-1 text-xs">
                    {p.events.map((e) => (
                      <li key={e.id} className="flex items-center gap-1">
                        <SeverityBadge severity={e.severity} />
                        <span className="font-mono">{String((e.details as unknown as { reason?: string } | null)?.reason ?? e.eventType)}</span>
                        <Time value={e.timestamp} />
                      </li>
                    ))}
                  </ul>
                )}
              </TableCell>
              <TableCell className="space-x-2 whitespace-nowrap text-right">
                <Button size="sm" onClick={() => setDisabled.mutate({ issuer: p.issuer, disabled: !p.disabled })}>
                  {p.disabled ? "Enable" : "Disable"}
                </Button>
                <ConfirmButton
                  label="Remove"
                  ariaLabel={`Remove ${p.issuer}`}
                  title={`Stop trusting ${p.issuer}?`}
                  description="Every grant its assertions produced is revoked: those tokens stop working at once."
                  confirmLabel="Remove"
                  onConfirm={() => remove.mutateAsync({ issuer: p.issuer })}
                />
              </TableCell>
            </TableRow>
          ))}
        </DataTable>
      )}
      <Modal open={adding} title="Add identity provider" onClose={() => setAdding(false)} wide>
        <AddForm busy={add.isPending} error={add.error ? errorMessage(add.error) : null} onSubmit={(v) => add.mutate(v)} onCancel={() => setAdding(false)} />
      </Modal>
    </>
  );
}

function AddForm({
  busy,
  error,
  onSubmit,
  onCancel,
}: {
  busy: boolean;
  error: string | null;
  onSubmit: (values: { issuer: string; jwksUri?: string; jwks?: string; allowNewUsers: boolean }) => void;
  onCancel: () => void;
}) {
  const [keys, setKeys] = useState<KeySource>("uri");
  function submit(form: FormData) {
    onSubmit({
      issuer: String(form.get("issuer") ?? "").trim(),
      ...readKeySet(form, keys),
      allowNewUsers: form.get("allowNewUsers") === "on",
    });
  }
  return (
    <FormFrame onSubmit={submit} busy={busy} error={error} submitLabel="Add" onCancel={onCancel}>
      <TextField label="Issuer" hint="(the assertions' iss)" name="issuer" type="url" required placeholder="https://login.example.com" spellCheck={false} />
      <KeySetFieldset legend="Signing keys" source={keys} onSourceChange={setKeys} uriPlaceholder="https://login.example.com/oauth2/v1/keys" />
      <label className="flex items-start gap-2 text-sm">
        <input type="checkbox" name="allowNewUsers" className="mt-1" />
        <span>
          <span className="font-medium text-gray-900">Create people on first use</span>
          <span className="block text-gray-500">An assertion naming an unknown email creates that person (role user). Otherwise the person must already exist.</span>
        </span>
      </label>
    </FormFrame>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
