/** `me`: the signed-in person (any role) — who they are, and the apps they connected. */
import { z } from "zod";
import { protectedProcedure, router } from "../init.ts";
import { disconnectApp, listConnectedApps } from "../../oauth/connected-apps.ts";

export const meRouter = router({
  profile: protectedProcedure.query(({ ctx }) => {
    const { id, email, name, image, role } = ctx.user;
    return { id, email, name, image, role };
  }),

  /** The caller's own active grants ("connected apps"). Token values are never read. */
  grants: protectedProcedure.query(({ ctx }) => listConnectedApps(ctx.services, ctx.user.id)),

  /** Revokes one of the caller's own grants (every token in it) and forgets the consent. */
  revokeGrant: protectedProcedure
    .input(z.object({ grantId: z.string().min(1).max(100) }))
    .mutation(({ ctx, input }) => disconnectApp(ctx.services, ctx.user.id, input.grantId)),
});
