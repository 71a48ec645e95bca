import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { useId, useState, type FormEvent } from "react";
import { SeverityBadge, StatusBadge } from "../components/admin/badges";
import { PageHeader } from "../components/admin/shell";
import { Button } from "../components/ui/button";
import { ConfirmButton } from "../components/ui/confirm-dialog";
import { EmptyState } from "../components/ui/empty-state";
import { TextAreaField, TextField } from "../components/ui/fields";
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
  const [keys, setKeys] = useState<"uri" | "set">("uri");
  const keysName = useId();
  const errorId = useId();
  function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    onSubmit({
      issuer: String(form.get("issuer") ?? "").trim(),
      jwksUri: keys === "uri" ? String(form.get("jwksUri") ?? "").trim() : undefined,
      jwks: keys === "set" ? String(form.get("jwks") ?? "").trim() : undefined,
      allowNewUsers: form.get("allowNewUsers") === "on",
    });
  }
  return (
    <form onSubmit={submit} className="space-y-4" aria-describedby={error ? errorId : undefined}>
      <TextField label="Issuer" hint="(the assertions' iss)" name="issuer" type="url" required placeholder="https://login.example.com" spellCheck={false} />
      <fieldset className="space-y-2">
        <legend className="block text-sm font-medium text-gray-700">Signing keys</legend>
        <div className="flex gap-4 text-sm">
          <label className="flex items-center gap-2">
            <input type="radio" name={keysName} checked={keys === "uri"} onChange={() => setKeys("uri")} /> JWKS URI
          </label>
          <label className="flex items-center gap-2">
            <input type="radio" name={keysName} checked={keys === "set"} onChange={() => setKeys("set")} /> JWK Set
          </label>
        </div>
        {keys === "uri" ? (
          <TextField label="JWKS URI" name="jwksUri" type="url" required placeholder="https://login.example.com/oauth2/v1/keys" spellCheck={false} />
        ) : (
          <TextAreaField label="JWK Set" hint="(JSON, public keys only)" name="jwks" required rows={5} spellCheck={false} />
        )}
      </fieldset>
      <label className="flex items-start gap-2 text-sm">
        <input type="checkbox" name="allowNewUsers" className="mt-1" />
        <span>
          <span className="font-medium text-gray-900">Create people on first use</span>
          <span className="block text-gray-500">An assertion naming an unknown email creates that person (role user). Otherwise the person must already exist.</span>
        </span>
      </label>
      {error ? (
        <p id={errorId} role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
          {error}
        </p>
      ) : null}
      <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
        <Button onClick={onCancel} disabled={busy}>
          Cancel
        </Button>
        <Button type="submit" tone="primary" disabled={busy}>
          {busy ? "Saving…" : "Add"}
        </Button>
      </div>
    </form>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
