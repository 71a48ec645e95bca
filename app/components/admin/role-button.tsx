/**
 * Promote a person to admin or take the role away (users.promote / users.demote), each confirmed first. People
 * listed in ADMIN_EMAILS and the admin themself cannot be demoted here (the server refuses too).
 */
import { useActionMutation, useTRPC } from "../../lib/trpc";
import { ConfirmButton } from "../ui/confirm-dialog";

export interface RolePerson {
  id: string;
  email: string;
  role: string;
  configuredAdmin: boolean;
}

/** `named`: the button's accessible name says whom it is for (in a list of people). */
export function RoleChangeButton({ user, meId, named = false }: { user: RolePerson; meId: string; named?: boolean }) {
  const trpc = useTRPC();
  const promote = useActionMutation(trpc.users.promote.mutationOptions(), { success: "User promoted to admin." });
  const demote = useActionMutation(trpc.users.demote.mutationOptions(), { success: "Admin rights removed." });
  return user.role === "ADMIN" ? (
    <ConfirmButton
      label="Demote"
      ariaLabel={named ? `Demote ${user.email}` : undefined}
      disabled={user.configuredAdmin || user.id === meId}
      title={`Remove admin rights from ${user.email}?`}
      description="They keep their account and connected apps, but lose access to this console at once."
      confirmLabel="Demote"
      onConfirm={() => demote.mutateAsync({ userId: user.id })}
    />
  ) : (
    <ConfirmButton
      label="Promote"
      ariaLabel={named ? `Promote ${user.email}` : undefined}
      tone="primary"
      title={`Make ${user.email} an admin?`}
      description="Admins can manage clients, revoke any token, read security events and change roles."
      confirmLabel="Promote"
      onConfirm={() => promote.mutateAsync({ userId: user.id })}
    />
  );
}
