/**
 * `tokens`: active grants (one grant = the access and refresh tokens of one authorization) by client or user, and
 * revocation — one grant, all of a client's, all of a user's. Token values are never read or returned. Every
 * revocation emits `oauth.revocation` (server/oauth/grants.ts), so MCP token caches drop the tokens at once, and is
 * audited by server/oauth/grant-admin.ts. Admins only.
 */
import { z } from "zod";
import { revokeClientGrantsAsAdmin, revokeGrantAsAdmin, revokeUserGrantsAsAdmin } from "../../oauth/grant-admin.ts";
import { listActiveGrants } from "../../oauth/grants.ts";
import { adminProcedure, router } from "../init.ts";

const id = z.string().min(1).max(100);

export const tokensRouter = router({
  /** `clientDbId` is the Client row id (as in the console's URLs), not the public client_id. */
  list: adminProcedure
    .input(
      z.object({
        clientDbId: id.optional(),
        userId: id.optional(),
        cursor: id.optional(),
        limit: z.number().int().min(1).max(100).default(25),
      }),
    )
    .query(({ ctx, input }) =>
      listActiveGrants(ctx.services, { clientDbId: input.clientDbId, userId: input.userId, cursor: input.cursor, take: input.limit }),
    ),

  revoke: adminProcedure.input(z.object({ grantId: id })).mutation(({ ctx, input }) => revokeGrantAsAdmin(ctx.services, input.grantId, { userId: ctx.user.id })),

  revokeForClient: adminProcedure
    .input(z.object({ clientDbId: id }))
    .mutation(({ ctx, input }) => revokeClientGrantsAsAdmin(ctx.services, input.clientDbId, { userId: ctx.user.id })),

  revokeForUser: adminProcedure
    .input(z.object({ userId: id }))
    .mutation(({ ctx, input }) => revokeUserGrantsAsAdmin(ctx.services, input.userId, { userId: ctx.user.id })),
});
