import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import type { AppCaller } from "../../server/trpc/root";
import { GrantsTable } from "../components/admin/grants-table";
import { PageHeader } from "../components/admin/shell";
import { ConfirmButton } from "../components/ui/confirm-dialog";
import { EmptyState } from "../components/ui/empty-state";
import { SelectField, TextField } from "../components/ui/fields";
import { FilterBar } from "../components/ui/filter-bar";
import { Pagination } from "../components/ui/pagination";
import { callApi } from "../lib/api.server";
import { text } from "../lib/search-params";
import { useActionMutation, useTRPC } from "../lib/trpc";

export const meta: MetaFunction = () => [{ title: "Tokens · Admin · MCP OAuth Server" }];

type GrantPage = Awaited<ReturnType<AppCaller["tokens"]["list"]>>;
const noGrants: GrantPage = { items: [], nextCursor: null };

export async function loader(args: LoaderFunctionArgs) {
  const params = new URL(args.request.url).searchParams;
  // The console's ?clientId= names a Client row id.
  const clientDbId = text(params.get("clientId"), 100);
  const userParam = text(params.get("user"), 320);
  const userIdParam = text(params.get("userId"), 100);
  const cursor = text(params.get("cursor"), 100);
  return callApi(args, async (api) => {
    // The person can be given by id (links from other pages) or typed as an email address.
    let user: { id: string; email: string } | null = null;
    if (userIdParam) user = await api.users.get({ userId: userIdParam }).catch(() => null);
    else if (userParam) {
      const found = await api.users.list({ search: userParam, limit: 10 });
      user = found.items.find((u) => u.email === userParam.toLowerCase()) ?? (found.items.length === 1 ? found.items[0] : null);
    }
    const unknownUser = Boolean(userIdParam || userParam) && !user;
    const [clients, grants] = await Promise.all([
      api.clients.list({ limit: 100 }),
      unknownUser ? noGrants : api.tokens.list({ clientDbId, userId: user?.id, cursor, limit: 25 }),
    ]);
    const client = clientDbId ? (clients.items.find((c) => c.id === clientDbId) ?? (await api.clients.get({ id: clientDbId }).catch(() => null))) : null;
    return {
      grants,
      clients: clients.items.map((c) => ({ id: c.id, name: c.name })),
      filters: { clientId: clientDbId ?? "", user: user?.email ?? userParam ?? "" },
      client: client ? { id: client.id, name: client.name } : null,
      user: user ? { id: user.id, email: user.email } : null,
      unknownUser,
    };
  });
}

export default function TokensPage() {
  const { grants, clients, filters, client, user, unknownUser } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const revokeOne = useActionMutation(trpc.tokens.revoke.mutationOptions(), { success: "Grant revoked: its tokens no longer work." });
  const summary = (r: { grants: number; accessTokens: number; refreshTokens: number }) =>
    `${r.grants} grant${r.grants === 1 ? "" : "s"} revoked (${r.accessTokens} access, ${r.refreshTokens} refresh tokens).`;
  const revokeClient = useActionMutation(trpc.tokens.revokeForClient.mutationOptions(), { success: summary });
  const revokeUser = useActionMutation(trpc.tokens.revokeForUser.mutationOptions(), { success: summary });
  const clientOptions = clients.some((c) => c.id === client?.id) || !client ? clients : [client, ...clients];
  return (
    <>
      <PageHeader
        title="Tokens"
        description="Active grants: each is one authorization, with the access and refresh tokens it produced. Token values are never shown or stored."
        actions={
          <>
            {client ? (
              <ConfirmButton
                label={`Revoke all for ${client.name}`}
                disabled={grants.items.length === 0}
                title={`Revoke every token of ${client.name}?`}
                description="Every person's grant to this client is revoked; its access and refresh tokens stop working at once."
                confirmLabel="Revoke all"
                onConfirm={() => revokeClient.mutateAsync({ clientDbId: client.id })}
              />
            ) : null}
            {user ? (
              <ConfirmButton
                label={`Revoke all for ${user.email}`}
                disabled={grants.items.length === 0}
                title={`Revoke every token of ${user.email}?`}
                description="Every app this person connected loses its tokens at once and must ask again."
                confirmLabel="Revoke all"
                onConfirm={() => revokeUser.mutateAsync({ userId: user.id })}
              />
            ) : null}
          </>
        }
      />
      <FilterBar label="Filter grants">
        <SelectField
          label="Client"
          name="clientId"
          defaultValue={filters.clientId}
          options={[{ value: "", label: "Any client" }, ...clientOptions.map((c) => ({ value: c.id, label: c.name }))]}
        />
        <TextField label="User email" name="user" type="search" placeholder="person@example.com" defaultValue={filters.user} />
      </FilterBar>
      {unknownUser ? (
        <EmptyState title="No such user.">Nobody with that email address has signed in here.</EmptyState>
      ) : grants.items.length === 0 ? (
        <EmptyState title={client || user ? "No active grants match these filters." : "No active grants."}>
          Grants appear when someone approves an app on the consent page.
        </EmptyState>
      ) : (
        <GrantsTable
          caption="Active grants"
          grants={grants.items}
          show={{ user: !user, client: !client }}
          onRevoke={(grant) => revokeOne.mutateAsync({ grantId: grant.id })}
        />
      )}
      <Pagination page={grants} noun="grants" />
    </>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
