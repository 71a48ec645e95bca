/** Active grants (one per authorization: its access and refresh tokens) with a confirmed "Revoke" per row. */
import { Link } from "@remix-run/react";
import type { ActiveGrant } from "../../../server/oauth/grants.ts";
import { ConfirmButton } from "../ui/confirm-dialog";
import { DataTable, TableCell, TableRow } from "../ui/table";
import { Time } from "../ui/time";

/** One row: a grant as server/oauth/grants.ts lists it. */
export type GrantRow = ActiveGrant;

export function GrantsTable({
  caption,
  grants,
  show,
  onRevoke,
}: {
  caption: string;
  grants: GrantRow[];
  show: { user: boolean; client: boolean };
  onRevoke: (grant: GrantRow) => Promise<unknown>;
}) {
  const columns = [
    ...(show.user ? ["User"] : []),
    ...(show.client ? ["Client"] : []),
    "Scopes",
    "Resource",
    "Granted",
    "Last used",
    <span key="a" className="sr-only">
      Actions
    </span>,
  ];
  return (
    <DataTable caption={caption} columns={columns}>
      {grants.map((grant) => (
        <TableRow key={grant.id}>
          {show.user ? (
            <TableCell>
              {grant.user ? (
                <Link to={`/admin/users/${grant.userId}`} className="text-blue-700 hover:underline">
                  {grant.user.email}
                </Link>
              ) : (
                <span className="text-gray-500">the client itself</span>
              )}
              {grant.identityProvider ? <div className="text-xs text-gray-500">via {grant.identityProvider}</div> : null}
            </TableCell>
          ) : null}
          {show.client ? (
            <TableCell>
              <Link to={`/admin/clients/${grant.clientDbId}`} className="text-blue-700 hover:underline">
                {grant.clientName}
              </Link>
            </TableCell>
          ) : null}
          <TableCell className="font-mono text-xs">{grant.scopes.join(" ")}</TableCell>
          <TableCell className="max-w-[14rem] truncate font-mono text-xs" title={grant.resource}>
            {grant.resource}
          </TableCell>
          <TableCell>
            <Time value={grant.createdAt} />
          </TableCell>
          <TableCell>
            <Time value={grant.lastUsedAt} />
          </TableCell>
          <TableCell className="text-right">
            <ConfirmButton
              label="Revoke"
              ariaLabel={`Revoke the grant of ${grant.user?.email ?? "the client itself"} to ${grant.clientName}`}
              title="Revoke this grant?"
              description={
                <>
                  The access and refresh tokens {grant.clientName} holds for {grant.user?.email ?? "itself"} stop working at once. The app must ask again.
                </>
              }
              confirmLabel="Revoke"
              onConfirm={() => onRevoke(grant)}
            />
          </TableCell>
        </TableRow>
      ))}
    </DataTable>
  );
}
