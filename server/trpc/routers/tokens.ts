/**
 * `tokens`: active grants (one grant = the access and refresh tokens of one authorization) by client or user, and
 * revocation — one grant, all of a client's, all of a user's. Token values are never read or returned. Every
 * revocation emits `oauth.revocation` (server/oauth/grants.ts), so MCP token caches drop the tokens at once.
 * Admins only.
 */
import { z } from "zod";
import { listActiveGrants, revokeGrant, revokeGrantsForClient, revokeGrantsForUser, RevocationReason } from "../../oauth/grants.ts";
import { adminProcedure, router } from "../init.ts";
import { auditAdminAction } from "../domain/audit.ts";
import { AdminError } from "../domain/errors.ts";

const id = z.string().min(1).max(100);

export const tokensRouter = router({
  /** `clientId` is the Client row id (as in the console's URLs). */
  list: adminProcedure
    .input(
      z.object({
        clientId: id.optional(),
        userId: id.optional(),
        cursor: id.optional(),
        limit: z.number().int().min(1).max(100).default(25),
      }),
    )
    .query(({ ctx, input }) =>
      listActiveGrants(ctx.services, { clientId: input.clientId, userId: input.userId, cursor: input.cursor, take: input.limit }),
    ),

  revoke: adminProcedure.input(z.object({ grantId: id })).mutation(async ({ ctx, input }) => {
    const counts = await revokeGrant(ctx.services, input.grantId, RevocationReason.admin);
    if (counts.grants === 0) throw new AdminError("not_found", "No such active grant (already revoked?).");
    auditAdminAction(ctx.services, ctx.user.id, "grant.revoked", { grantId: input.grantId });
    return counts;
  }),

  revokeForClient: adminProcedure.input(z.object({ clientId: id })).mutation(async ({ ctx, input }) => {
    const client = await ctx.services.prisma.client.findUnique({ where: { id: input.clientId }, select: { id: true } });
    if (!client) throw new AdminError("not_found", "No such client.");
    const counts = await revokeGrantsForClient(ctx.services, client.id, RevocationReason.admin);
    auditAdminAction(ctx.services, ctx.user.id, "client.tokens_revoked", { clientDbId: client.id, grants: counts.grants });
    return counts;
  }),

  revokeForUser: adminProcedure.input(z.object({ userId: id })).mutation(async ({ ctx, input }) => {
    const user = await ctx.services.prisma.user.findUnique({ where: { id: input.userId }, select: { id: true } });
    if (!user) throw new AdminError("not_found", "No such user.");
    const counts = await revokeGrantsForUser(ctx.services, user.id, RevocationReason.admin);
    auditAdminAction(ctx.services, ctx.user.id, "user.tokens_revoked", { targetUserId: user.id, grants: counts.grants });
    return counts;
  }),
});
