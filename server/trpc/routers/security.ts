/** `security`: the security event log (filters, mark reviewed). Admins only. */
import { z } from "zod";
import { adminProcedure, router } from "../init.ts";
import { pageInput } from "../pagination.ts";
import { listSecurityEvents, markSecurityEventsReviewed, securityEventTypes } from "../../analytics/security-events.ts";
import { queryableDate } from "../../analytics/time-range.ts";

export const severities = ["low", "medium", "high", "critical"] as const;

export const securityRouter = router({
  list: adminProcedure
    .input(
      pageInput
        .extend({
          id: z.string().uuid().optional(),
          type: z.string().trim().max(64).regex(/^[A-Za-z0-9_.:-]*$/).optional(),
          severity: z.enum(severities).optional(),
          clientId: z.string().trim().max(2048).optional(),
          from: queryableDate.optional(),
          to: queryableDate.optional(),
          reviewed: z.enum(["all", "reviewed", "unreviewed"]).default("all"),
        })
        .refine((v) => !v.from || !v.to || v.from < v.to, { message: "`from` must be before `to`", path: ["from"] }),
    )
    .query(({ ctx, input }) =>
      listSecurityEvents(
        ctx.services,
        {
          id: input.id,
          type: input.type || undefined,
          severity: input.severity,
          clientId: input.clientId || undefined,
          from: input.from,
          to: input.to,
          reviewed: input.reviewed,
        },
        input,
      ),
    ),

  types: adminProcedure.query(({ ctx }) => securityEventTypes(ctx.services)),

  markReviewed: adminProcedure
    .input(z.object({ ids: z.array(z.string().min(1).max(100)).min(1).max(200) }))
    .mutation(({ ctx, input }) => markSecurityEventsReviewed(ctx.services, input.ids, ctx.user.id)),
});
