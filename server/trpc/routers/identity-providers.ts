/**
 * `identityProviders`: the enterprise identity providers whose ID-JAGs this server trusts (MCP enterprise-managed
 * authorization) — list, add, disable/enable, remove (revokes the grants their assertions produced), and the recent
 * security events about one. Admins only; the rules, and the audit of each change, live in
 * server/oauth/identity-providers.ts.
 */
import { z } from "zod";
import { listSecurityEvents } from "../../analytics/security-events.ts";
import { addIdentityProvider, listIdentityProviders, removeIdentityProvider, setIdentityProviderDisabled } from "../../oauth/identity-providers.ts";
import { adminProcedure, router } from "../init.ts";
import { parseJwksInput } from "../jwks-input.ts";

const issuer = z.string().trim().min(1).max(2000);

export const identityProvidersRouter = router({
  list: adminProcedure.query(({ ctx }) => listIdentityProviders(ctx.services)),

  add: adminProcedure
    .input(
      z.object({
        issuer,
        jwksUri: z.string().trim().max(2000).optional(),
        /** The JWK Set as JSON text. */
        jwks: z.string().trim().max(64_000).optional(),
        allowNewUsers: z.boolean().default(false),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const jwks = parseJwksInput(input.jwks);
      return addIdentityProvider(
        ctx.services,
        { issuer: input.issuer, jwksUri: input.jwksUri || undefined, jwks, allowNewUsers: input.allowNewUsers },
        { userId: ctx.user.id },
      );
    }),

  setDisabled: adminProcedure
    .input(z.object({ issuer, disabled: z.boolean() }))
    .mutation(({ ctx, input }) => setIdentityProviderDisabled(ctx.services, input.issuer, input.disabled, { userId: ctx.user.id })),

  remove: adminProcedure.input(z.object({ issuer })).mutation(({ ctx, input }) => removeIdentityProvider(ctx.services, input.issuer, { userId: ctx.user.id })),

  /** Recent security events naming this issuer (refused ID-JAGs: untrusted, replayed, for another client, …). */
  events: adminProcedure
    .input(z.object({ issuer, limit: z.number().int().min(1).max(100).default(20) }))
    .query(({ ctx, input }) => listSecurityEvents(ctx.services, { issuer: input.issuer }, { direction: "forward", limit: input.limit })),
});
