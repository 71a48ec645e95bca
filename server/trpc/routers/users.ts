/** `users`: people who sign in here — roles (promote/demote) and browser sessions. Admins only. */
import { z } from "zod";
import { adminProcedure, router } from "../init.ts";
import { pageInput } from "../pagination.ts";
import { demoteUser, endAllSessions, endSession, getUser, listSessions, listUsers, promoteUser } from "../../auth/people-admin.ts";

const id = z.string().min(1).max(100);

export const usersRouter = router({
  list: adminProcedure
    .input(
      pageInput.extend({
        search: z.string().trim().max(200).optional(),
        role: z.enum(["USER", "ADMIN"]).optional(),
      }),
    )
    .query(({ ctx, input }) => listUsers(ctx.services, { search: input.search || undefined, role: input.role }, input)),

  get: adminProcedure.input(z.object({ userId: id })).query(({ ctx, input }) => getUser(ctx.services, input.userId)),

  promote: adminProcedure
    .input(z.object({ userId: id }))
    .mutation(({ ctx, input }) => promoteUser(ctx.services, input.userId, ctx.user.id)),

  demote: adminProcedure
    .input(z.object({ userId: id }))
    .mutation(({ ctx, input }) => demoteUser(ctx.services, input.userId, ctx.user.id)),

  sessions: adminProcedure
    .input(z.object({ userId: id }))
    .query(async ({ ctx, input }) => {
      const sessions = await listSessions(ctx.services, input.userId);
      return sessions.map((s) => ({ ...s, current: s.id === ctx.user.sessionId }));
    }),

  endSession: adminProcedure
    .input(z.object({ userId: id, sessionId: id }))
    .mutation(({ ctx, input }) => endSession(ctx.services, input.userId, input.sessionId, ctx.user.id)),

  endAllSessions: adminProcedure
    .input(z.object({ userId: id }))
    .mutation(({ ctx, input }) => endAllSessions(ctx.services, input.userId, ctx.user.id)),
});
