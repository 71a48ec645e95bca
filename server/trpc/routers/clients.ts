/**
 * `clients`: OAuth clients — list (search, kind, status; cursor pagination), details, manual creation (the secret
 * is returned once), machine clients (client_credentials / ID-JAG; a secret returned once, or a JWK Set / JWKS URI),
 * edits, secret rotation, disable/enable, delete (revokes its tokens first). Admins only; the rules, and the audit
 * of each change, live in server/oauth/client-admin.ts and machine-clients.ts. `id` is the Client row id.
 */
import { z } from "zod";
import {
  createManualClient,
  deleteClient,
  getClient,
  listClients,
  rotateClientSecret,
  setClientDisabled,
  setClientDpopRequired,
  updateClient,
} from "../../oauth/client-admin.ts";
import { createMachineClient, MACHINE_AUTH_METHODS, MACHINE_GRANT_TYPES } from "../../oauth/machine-clients.ts";
import { SCOPES } from "../../oauth/scopes.ts";
import { adminProcedure, router } from "../init.ts";
import { parseJwksInput } from "../jwks-input.ts";
import { pageInput } from "../pagination.ts";

const id = z.string().min(1).max(100);
// Shapes only; the OAuth rules (RFC 7591 §2, RFC 8252, RFC 9700 §4.1.3) are checked by server/oauth.
const redirectUris = z.array(z.string().trim().min(1).max(2000)).min(1).max(20);
const scopes = z.array(z.string().trim().min(1).max(100)).min(1).max(20);
const name = z.string().trim().min(1).max(200);

export const clientsRouter = router({
  list: adminProcedure
    .input(
      pageInput.extend({
        search: z.string().trim().max(2048).optional(),
        kind: z.enum(["DYNAMIC", "METADATA_DOCUMENT", "MANUAL"]).optional(),
        status: z.enum(["active", "disabled"]).optional(),
      }),
    )
    .query(({ ctx, input }) =>
      listClients(ctx.services, { search: input.search || undefined, kind: input.kind, status: input.status }, input),
    ),

  /** What the create/edit forms offer: the scopes this server supports. */
  options: adminProcedure.query(() => ({
    scopes: Object.entries(SCOPES).map(([value, info]) => ({ value, description: info.description, adminOnly: info.adminOnly })),
  })),

  get: adminProcedure.input(z.object({ id })).query(({ ctx, input }) => getClient(ctx.services, input.id)),

  create: adminProcedure
    .input(z.object({ name, type: z.enum(["confidential", "public"]), redirectUris, scopes }))
    .mutation(({ ctx, input }) => createManualClient(ctx.services, input, { userId: ctx.user.id })),

  /** A machine client (never by open registration): the secret is returned once; key clients get none. */
  createMachine: adminProcedure
    .input(
      z.object({
        name,
        grantTypes: z.array(z.enum(MACHINE_GRANT_TYPES)).min(1).max(2),
        authMethod: z.enum(MACHINE_AUTH_METHODS),
        jwksUri: z.string().trim().max(2000).optional(),
        /** The JWK Set as JSON text (pasted into the form). */
        jwks: z.string().trim().max(64_000).optional(),
        scopes,
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const jwks = parseJwksInput(input.jwks);
      return createMachineClient(ctx.services, { ...input, jwksUri: input.jwksUri || undefined, jwks }, { userId: ctx.user.id });
    }),

  update: adminProcedure
    .input(
      z
        .object({ id, name: name.optional(), redirectUris: redirectUris.optional(), scopes: scopes.optional() })
        .refine((v) => v.name !== undefined || v.redirectUris !== undefined || v.scopes !== undefined, {
          message: "Nothing to change",
        }),
    )
    .mutation(({ ctx, input }) => {
      const { id: clientDbId, ...changes } = input;
      return updateClient(ctx.services, clientDbId, changes, { userId: ctx.user.id });
    }),

  rotateSecret: adminProcedure.input(z.object({ id })).mutation(({ ctx, input }) => rotateClientSecret(ctx.services, input.id, { userId: ctx.user.id })),

  setDisabled: adminProcedure
    .input(z.object({ id, disabled: z.boolean() }))
    .mutation(({ ctx, input }) => setClientDisabled(ctx.services, input.id, input.disabled, { userId: ctx.user.id })),

  setDpopRequired: adminProcedure
    .input(z.object({ id, dpopRequired: z.boolean() }))
    .mutation(({ ctx, input }) => setClientDpopRequired(ctx.services, input.id, input.dpopRequired, { userId: ctx.user.id })),

  delete: adminProcedure.input(z.object({ id })).mutation(({ ctx, input }) => deleteClient(ctx.services, input.id, { userId: ctx.user.id })),
});
