import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { RoleBadge } from "../components/admin/badges";
import { Breadcrumb } from "../components/admin/breadcrumb";
import { RoleChangeButton } from "../components/admin/role-button";
import { PageHeader } from "../components/admin/shell";
import { ConfirmButton } from "../components/ui/confirm-dialog";
import { EmptyState } from "../components/ui/empty-state";
import { DataTable, TableCell, TableRow } from "../components/ui/table";
import { Time } from "../components/ui/time";
import { callApi } from "../lib/api.server";
import { useActionMutation, useTRPC } from "../lib/trpc";

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.user.email ?? "User"} · Admin · MCP OAuth Server` }];

export async function loader(args: LoaderFunctionArgs) {
  const userId = args.params.id ?? "";
  return callApi(args, async (api) => {
    const [user, sessions, me] = await Promise.all([api.users.get({ userId }), api.users.sessions({ userId }), api.me.profile()]);
    return { user, sessions, meId: me.id };
  });
}

export default function UserPage() {
  const { user, sessions, meId } = useLoaderData<typeof loader>();
  const trpc = useTRPC();
  const endOne = useActionMutation(trpc.users.endSession.mutationOptions(), { success: "Session ended: that browser is signed out." });
  const endAll = useActionMutation(trpc.users.endAllSessions.mutationOptions(), {
    success: (r) => `${r.ended} session${r.ended === 1 ? "" : "s"} ended.`,
  });
  return (
    <>
      <Breadcrumb to="/admin/users" label="Users" />
      <PageHeader
        title={user.email}
        description={
          <>
            {user.name ? `${user.name} · ` : ""}joined <Time value={user.createdAt} /> · last sign-in <Time value={user.lastSignInAt} />
          </>
        }
        actions={
          <>
            <Link to={`/admin/tokens?userId=${encodeURIComponent(user.id)}`} className="rounded-md border border-gray-300 bg-white px-2.5 py-1.5 text-xs font-medium text-gray-800 shadow-sm hover:bg-gray-50">
              Connected apps ({user.activeGrants})
            </Link>
            <RoleChangeButton user={user} meId={meId} />
          </>
        }
      />
      <div className="mb-6 flex flex-wrap items-center gap-3 text-sm text-gray-700">
        <RoleBadge role={user.role} configured={user.configuredAdmin} />
        {user.configuredAdmin ? <span>Listed in ADMIN_EMAILS: always an admin.</span> : null}
        {!user.configuredAdmin && user.promotedAt ? (
          <span>
            Promoted <Time value={user.promotedAt} />
          </span>
        ) : null}
      </div>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-base font-semibold text-gray-900">Browser sessions</h2>
        {sessions.length > 0 ? (
          <ConfirmButton
            label="End all sessions"
            title={`Sign ${user.email} out everywhere?`}
            description="Every browser they are signed in with must sign in again. Their connected apps keep working."
            confirmLabel="End all sessions"
            onConfirm={() => endAll.mutateAsync({ userId: user.id })}
          />
        ) : null}
      </div>
      {sessions.length === 0 ? (
        <EmptyState title="No active sessions.">This person is signed out everywhere.</EmptyState>
      ) : (
        <DataTable caption={`Sessions of ${user.email}`} columns={["Started", "Last seen", "Expires", "IP address", "Browser", <span key="a" className="sr-only">Actions</span>]}>
          {sessions.map((s) => (
            <TableRow key={s.id}>
              <TableCell>
                <Time value={s.createdAt} />
                {s.current ? <span className="ml-2 text-xs font-medium text-emerald-700">(this browser)</span> : null}
              </TableCell>
              <TableCell>
                <Time value={s.lastSeenAt} />
              </TableCell>
              <TableCell>
                <Time value={s.expires} />
              </TableCell>
              <TableCell className="font-mono text-xs">{s.ipAddress ?? "–"}</TableCell>
              <TableCell className="max-w-xs truncate text-xs" title={s.userAgent ?? undefined}>
                {s.userAgent ?? "–"}
              </TableCell>
              <TableCell className="text-right">
                <ConfirmButton
                  label="End"
                  ariaLabel={`End session started ${s.createdAt.toISOString()}`}
                  title="End this session?"
                  description={s.current ? "This is your own session: you will be signed out." : "That browser will have to sign in again."}
                  confirmLabel="End session"
                  onConfirm={() => endOne.mutateAsync({ userId: user.id, sessionId: s.id })}
                />
              </TableCell>
            </TableRow>
          ))}
        </DataTable>
      )}
    </>
  );
}

export { RouteErrorPanel as ErrorBoundary } from "../components/admin/error-page";
