import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useRevalidator } from "@remix-run/react";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { ClientKindBadge, StatusBadge } from "../components/admin/badges";
import { ClientForm, SecretModal } from "../components/admin/client-form";
import { MachineClientForm } from "../components/admin/machine-client-form";
import { PageHeader } from "../components/admin/shell";
import { Button } from "../components/ui/button";
import { EmptyState } from "../components/ui/empty-state";
import { SelectField, TextField } from "../components/ui/fields";
import { FilterBar } from "../components/ui/filter-bar";
import { Modal } from "../components/ui/modal";
import { Pagination } from "../components/ui/pagination";
import { DataTable, TableCell, TableRow } from "../components/ui/table";
import { Time } from "../components/ui/time";
import { useToast } from "../components/ui/toast";
import { callApi } from "../lib/api.server";
import { oneOf, pageParams, text } from "../lib/search-params";
import { errorMessage, useTRPC } from "../lib/trpc";

export const meta: MetaFunction = () => [{ title: "Clients · Admin · MCP OAuth Server" }];

const KINDS = ["DYNAMIC", "METADATA_DOCUMENT", "MANUAL"] as const;

export async function loader(args: LoaderFunctionArgs) {
  const params = new URL(args.request.url).searchParams;
  const filters = {
    search: text(params.get("q"), 2048),
    kind: oneOf(params.get("kind"), KINDS),
    status: oneOf(params.get("status"), ["active", "disabled"] as const),
  };
  const [page, options] = await callApi(args, (api) => Promise.all([api.clients.list({ ...filters, ...pageParams(params) }), api.clients.options()]));
  return { page, filters, options };
}

export default function ClientsPage() {
  const { page, filters, options } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const toast = useToast();
  const revalidator = useRevalidator();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ id: string; clientId: string; secret: string | null; machine?: boolean } | null>(null);
  const [creatingMachine, setCreatingMachine] = useState(false);
  const createMachine = useMutation(
    trpc.clients.createMachine.mutationOptions({
      onSuccess(result) {
        setCreatingMachine(false);
        setCreated({ id: result.client.id, clientId: result.client.clientId, secret: result.clientSecret, machine: true });
        toast.show({ tone: "success", message: `Machine client “${result.client.name}” created.` });
        revalidator.revalidate();
      },
    }),
  );
  const create = useMutation(
    trpc.clients.create.mutationOptions({
      onSuccess(result) {
        setCreating(false);
        setCreated({ id: result.client.id, clientId: result.client.clientId, secret: result.clientSecret });
        toast.show({ tone: "success", message: `Client “${result.client.name}” created.` });
        revalidator.revalidate();
      },
    }),
  );
  const filtered = Boolean(filters.search || filters.kind || filters.status);
  return (
    <>
      <PageHeader
        title="Clients"
        description="Applications that may ask people for access: registered dynamically, by a metadata document, or created here."
        actions={
          <>
            <Button size="sm" onClick={() => {
              createMachine.reset();
              setCreatingMachine(true);
            }}>
              New machine client
            </Button>
            <Button tone="primary" size="sm" onClick={() => {
              create.reset();
              setCreating(true);
            }}>
              New client
            </Button>
          </>
        }
      />
      <FilterBar label="Filter clients">
        <TextField label="Search" name="q" type="search" placeholder="Name or client ID" defaultValue={filters.search ?? ""} />
        <SelectField
          label="Registration"
          name="kind"
          defaultValue={filters.kind ?? ""}
          options={[
            { value: "", label: "Any" },
            { value: "DYNAMIC", label: "Dynamic (RFC 7591)" },
            { value: "METADATA_DOCUMENT", label: "Metadata document" },
            { value: "MANUAL", label: "Created by an admin" },
          ]}
        />
        <SelectField
          label="Status"
          name="status"
          defaultValue={filters.status ?? ""}
          options={[
            { value: "", label: "Any" },
            { value: "active", label: "Active" },
            { value: "disabled", label: "Disabled" },
          ]}
        />
      </FilterBar>
      {page.items.length === 0 ? (
        <EmptyState title={filtered ? "No clients match these filters." : "No clients yet."}>
          {filtered ? "Try another search." : "MCP clients register themselves at /api/oauth/register, or create one with “New client”."}
        </EmptyState>
      ) : (
        <DataTable caption="OAuth clients" columns={["Name", "Client ID", "Registration", "Type", "Status", "Active grants", "Created", "Last used"]}>
          {page.items.map((client) => (
            <TableRow key={client.id}>
              <TableCell>
                <Link to={`/admin/clients/${client.id}`} className="font-medium text-blue-700 hover:underline">
                  {client.name}
                </Link>
              </TableCell>
              <TableCell className="max-w-[12rem] truncate font-mono text-xs" title={client.clientId}>
                {client.clientId}
              </TableCell>
              <TableCell>
                <ClientKindBadge kind={client.kind} />
              </TableCell>
              <TableCell className="text-sm">{client.type}</TableCell>
              <TableCell>
                <StatusBadge disabled={client.disabled} />
              </TableCell>
              <TableCell>{client.activeGrants}</TableCell>
              <TableCell>
                <Time value={client.createdAt} />
              </TableCell>
              <TableCell>
                <Time value={client.lastUsedAt} />
              </TableCell>
            </TableRow>
          ))}
        </DataTable>
      )}
      <Pagination page={page} noun="clients" />
      <Modal open={creating} title="New client" onClose={() => setCreating(false)} wide>
        <ClientForm
          mode="create"
          scopeOptions={options.scopes}
          busy={create.isPending}
          error={create.error ? errorMessage(create.error) : null}
          onSubmit={(values) => create.mutate(values)}
          onCancel={() => setCreating(false)}
        />
      </Modal>
      <Modal open={creatingMachine} title="New machine client" onClose={() => setCreatingMachine(false)} wide>
        <MachineClientForm
          scopeOptions={options.scopes}
          busy={createMachine.isPending}
          error={createMachine.error ? errorMessage(createMachine.error) : null}
          onSubmit={(values) => createMachine.mutate(values)}
          onCancel={() => setCreatingMachine(false)}
        />
      </Modal>
      <SecretModal
        open={created !== null}
        title="Client created"
        clientId={created?.clientId ?? ""}
        secret={created?.secret ?? null}
        onClose={() => setCreated(null)}
        noSecret={created?.machine ? "This client authenticates with its private key (private_key_jwt): there is no secret." : undefined}
      >
        {created ? (
          <p>
            <Link to={`/admin/clients/${created.id}`} className="text-blue-700 underline">
              Open the client’s page
            </Link>
          </p>
        ) : null}
      </SecretModal>
    </>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
