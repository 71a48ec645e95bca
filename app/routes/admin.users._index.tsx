import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { RoleBadge } from "../components/admin/badges";
import { RoleChangeButton } from "../components/admin/role-button";
import { PageHeader } from "../components/admin/shell";
import { EmptyState } from "../components/ui/empty-state";
import { FilterBar } from "../components/ui/filter-bar";
import { SelectField, TextField } from "../components/ui/fields";
import { Pagination } from "../components/ui/pagination";
import { DataTable, TableCell, TableRow } from "../components/ui/table";
import { Time } from "../components/ui/time";
import { callApi } from "../lib/api.server";
import { oneOf, pageParams, text } from "../lib/search-params";

export const meta: MetaFunction = () => [{ title: "Users · Admin · MCP OAuth Server" }];

export async function loader(args: LoaderFunctionArgs) {
  const params = new URL(args.request.url).searchParams;
  const filters = { search: text(params.get("q")), role: oneOf(params.get("role"), ["USER", "ADMIN"] as const) };
  const [page, me] = await callApi(args, (api) => Promise.all([api.users.list({ ...filters, ...pageParams(params) }), api.me.profile()]));
  return { page, filters, meId: me.id };
}

export default function UsersPage() {
  const { page, filters, meId } = useLoaderData<typeof loader>();
  return (
    <>
      <PageHeader title="Users" description="People who have signed in here. Promote trusted people to admins; open a user to see and end their sessions." />
      <FilterBar label="Filter users">
        <TextField label="Search" name="q" type="search" placeholder="Email or name" defaultValue={filters.search ?? ""} />
        <SelectField
          label="Role"
          name="role"
          defaultValue={filters.role ?? ""}
          options={[
            { value: "", label: "Any role" },
            { value: "ADMIN", label: "Admins" },
            { value: "USER", label: "Users" },
          ]}
        />
      </FilterBar>
      {page.items.length === 0 ? (
        <EmptyState title={filters.search || filters.role ? "No users match these filters." : "Nobody has signed in yet."}>
          People appear here after their first sign-in.
        </EmptyState>
      ) : (
        <DataTable caption="Users" columns={["User", "Role", "Last sign-in", "Sessions", "Connected apps", <span key="a" className="sr-only">Actions</span>]}>
          {page.items.map((user) => (
            <TableRow key={user.id}>
              <TableCell>
                <Link to={`/admin/users/${user.id}`} className="font-medium text-blue-700 hover:underline">
                  {user.email}
                </Link>
                {user.name ? <div className="text-xs text-gray-500">{user.name}</div> : null}
              </TableCell>
              <TableCell>
                <RoleBadge role={user.role} configured={user.configuredAdmin} />
              </TableCell>
              <TableCell>
                <Time value={user.lastSignInAt} />
              </TableCell>
              <TableCell>{user.activeSessions}</TableCell>
              <TableCell>{user.activeGrants}</TableCell>
              <TableCell className="text-right">
                <RoleChangeButton user={user} meId={meId} named />
              </TableCell>
            </TableRow>
          ))}
        </DataTable>
      )}
      <Pagination page={page} noun="users" />
    </>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
