/**
 * The operator's admin commands: machine clients and trusted identity providers, calling the same domain functions
 * as the admin console (server/oauth/machine-clients.ts, client-admin.ts, identity-providers.ts).
 *
 *   clients create --name NAME --grant-types client_credentials[,jwt-bearer] [--auth-method client_secret_basic|
 *                  private_key_jwt] [--jwks-uri URL | --jwks FILE] [--scope "S1 S2"] [--json]
 *   clients list | show ID | disable ID | enable ID | delete ID          (ID: the client_id or the console's row id)
 *   clients dpop ID required|optional       (RFC 9449 §5.2: token requests without a DPoP proof refused, or not)
 *   idp add --issuer URL (--jwks-uri URL | --jwks FILE) [--allow-new-users] [--json]
 *   idp list | remove ISSUER
 *
 * Output: a few readable lines, or with --json one JSON document on stdout. A refusal (bad input, not found) is one
 * line on stderr and exit 1; a usage mistake is exit 2 (main.ts).
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { OPERATOR } from "../audit.ts";
import { DomainError } from "../domain-error.ts";
import { deleteClient, getClient, listClients, setClientDisabled, setClientDpopRequired, type ClientDetails } from "../oauth/client-admin.ts";
import { OAuthError } from "../oauth/errors.ts";
import { addIdentityProvider, listIdentityProviders, removeIdentityProvider } from "../oauth/identity-providers.ts";
import { createMachineClient, MACHINE_AUTH_METHODS, type MachineAuthMethod } from "../oauth/machine-clients.ts";
import type { AdminContext } from "./admin-context.ts";

export interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** Raised for a usage mistake (exit 2); main.ts defines the class, passed in to avoid an import cycle. */
type UsageErrorClass = new (message: string) => Error;

export async function runAdminCommand(
  group: "clients" | "idp",
  args: string[],
  io: Io,
  UsageError: UsageErrorClass,
  open: () => Promise<AdminContext>,
): Promise<number> {
  const [action, ...rest] = args;
  const commands: Record<string, Command<unknown>> = group === "clients" ? clientCommands : idpCommands;
  const command = action && Object.hasOwn(commands, action) ? commands[action] : undefined;
  if (!command) {
    const known = Object.keys(commands).join("|");
    throw new UsageError(`${group} needs a subcommand: ${known}`);
  }
  const parsed = parseArgs({ args: rest, allowPositionals: true, options: OPTIONS, strict: true });
  // Check the arguments before touching the database.
  const prepared = await command.prepare(parsed.values, parsed.positionals, UsageError);
  const context = await open();
  try {
    const result = await command.run(context, prepared);
    if (parsed.values.json) io.out(JSON.stringify(result.json) + "\n");
    else io.out(result.text.join("\n") + "\n");
    return 0;
  } catch (error) {
    if (error instanceof DomainError || error instanceof OAuthError) {
      io.err(`mcp-oauth-server: ${error instanceof OAuthError ? error.description : error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await context.close();
  }
}

const OPTIONS = {
  name: { type: "string" },
  "grant-types": { type: "string", multiple: true },
  "auth-method": { type: "string" },
  "jwks-uri": { type: "string" },
  jwks: { type: "string" },
  scope: { type: "string" },
  issuer: { type: "string" },
  "allow-new-users": { type: "boolean" },
  json: { type: "boolean" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

interface Command<P> {
  prepare(values: Values, positionals: string[], UsageError: UsageErrorClass): Promise<P> | P;
  run(context: AdminContext, prepared: P): Promise<{ json: unknown; text: string[] }>;
}

function one(positionals: string[], what: string, UsageError: UsageErrorClass): string {
  if (positionals.length !== 1) throw new UsageError(`give exactly one ${what}`);
  return positionals[0];
}

async function readJwks(file: string, UsageError: UsageErrorClass): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`cannot read --jwks file ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks file ${file} is not JSON`);
  }
}

/** The client row named by its client_id or its row id. */
async function findClientId(context: AdminContext, id: string): Promise<string> {
  const row = await context.prisma.client.findFirst({ where: { OR: [{ clientId: id }, { id }] }, select: { id: true } });
  if (!row) throw new DomainError("not_found", `no client ${id}`);
  return row.id;
}

function describeClient(client: ClientDetails): string[] {
  return [
    `client_id:      ${client.clientId}`,
    `name:           ${client.name}`,
    `grant types:    ${client.grantTypes.join(" ")}`,
    `authentication: ${client.tokenEndpointAuthMethod}${client.jwksUri ? ` (jwks_uri ${client.jwksUri})` : client.inlineKeys ? ` (${client.inlineKeys} key(s) inline)` : ""}`,
    `scope:          ${client.scopes.join(" ")}`,
    `status:         ${client.disabled ? "disabled" : "active"}`,
    `DPoP:           ${client.dpopRequired ? "required" : "optional"}`,
    `console id:     ${client.id}`,
  ];
}

function clientJson(client: ClientDetails) {
  return {
    client_id: client.clientId,
    id: client.id,
    client_name: client.name,
    grant_types: client.grantTypes,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    scope: client.scopes.join(" "),
    ...(client.jwksUri ? { jwks_uri: client.jwksUri } : {}),
    disabled: client.disabled,
    dpop_bound_access_tokens: client.dpopRequired,
    created_at: client.createdAt.toISOString(),
  };
}

const clientCommands = {
  create: {
    async prepare(values, positionals, UsageError) {
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      if (!values.name) throw new UsageError("clients create needs --name");
      const grantTypes = (values["grant-types"] ?? []).flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
      if (grantTypes.length === 0) throw new UsageError("clients create needs --grant-types (client_credentials and/or jwt-bearer)");
      const authMethod = (values["auth-method"] ?? (values["jwks-uri"] || values.jwks ? "private_key_jwt" : "client_secret_basic")) as MachineAuthMethod;
      if (!(MACHINE_AUTH_METHODS as readonly string[]).includes(authMethod)) throw new UsageError(`--auth-method must be ${MACHINE_AUTH_METHODS.join(" or ")}`);
      if (values["jwks-uri"] && values.jwks) throw new UsageError("give --jwks-uri or --jwks, not both");
      const jwks = values.jwks ? await readJwks(values.jwks, UsageError) : undefined;
      return {
        name: values.name,
        grantTypes,
        authMethod,
        jwksUri: values["jwks-uri"],
        jwks,
        scopes: values.scope ? values.scope.split(/\s+/).filter(Boolean) : undefined,
      };
    },
    async run(context, input) {
      const { client, clientSecret } = await createMachineClient(context, input, OPERATOR);
      return {
        json: { ...clientJson(client), ...(clientSecret ? { client_secret: clientSecret } : {}) },
        text: [...describeClient(client), ...(clientSecret ? [`client_secret:  ${clientSecret}`, "", "The secret is shown once: store it now."] : [])],
      };
    },
  } satisfies Command<Parameters<typeof createMachineClient>[1]>,
  list: {
    prepare: (_values, positionals, UsageError) => {
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      return null;
    },
    async run(context) {
      const page = await listClients(context, {}, { direction: "forward", limit: 200 });
      return {
        json: page.items.map((c) => ({ client_id: c.clientId, id: c.id, client_name: c.name, kind: c.kind, type: c.type, disabled: c.disabled, active_grants: c.activeGrants })),
        text: page.items.length === 0 ? ["No clients."] : page.items.map((c) => `${c.clientId}  ${c.disabled ? "disabled" : "active  "}  ${c.type.padEnd(12)}  ${c.name}`),
      };
    },
  } satisfies Command<null>,
  show: {
    prepare: (_values, positionals, UsageError) => one(positionals, "client id", UsageError),
    async run(context, id) {
      const client = await getClient(context, await findClientId(context, id));
      return { json: clientJson(client), text: describeClient(client) };
    },
  } satisfies Command<string>,
  disable: {
    prepare: (_values, positionals, UsageError) => one(positionals, "client id", UsageError),
    async run(context, id) {
      await setClientDisabled(context, await findClientId(context, id), true, OPERATOR);
      return { json: { client_id: id, disabled: true }, text: [`Disabled ${id}: it gets no tokens and its tokens stop working.`] };
    },
  } satisfies Command<string>,
  enable: {
    prepare: (_values, positionals, UsageError) => one(positionals, "client id", UsageError),
    async run(context, id) {
      await setClientDisabled(context, await findClientId(context, id), false, OPERATOR);
      return { json: { client_id: id, disabled: false }, text: [`Enabled ${id}.`] };
    },
  } satisfies Command<string>,
  dpop: {
    prepare: (_values, positionals, UsageError) => {
      const [id, policy] = positionals;
      if (positionals.length !== 2 || (policy !== "required" && policy !== "optional")) throw new UsageError("clients dpop needs a client id and required|optional");
      return { id, required: policy === "required" };
    },
    async run(context, { id, required }) {
      await setClientDpopRequired(context, await findClientId(context, id), required, OPERATOR);
      return {
        json: { client_id: id, dpop_bound_access_tokens: required },
        text: [required ? `DPoP required for ${id}: its token requests without a proof are refused.` : `DPoP optional for ${id}.`],
      };
    },
  } satisfies Command<{ id: string; required: boolean }>,
  delete: {
    prepare: (_values, positionals, UsageError) => one(positionals, "client id", UsageError),
    async run(context, id) {
      const counts = await deleteClient(context, await findClientId(context, id), OPERATOR);
      return { json: { client_id: id, deleted: true, revoked: counts }, text: [`Deleted ${id} (${counts.grants} grant(s) revoked).`] };
    },
  } satisfies Command<string>,
};

const idpCommands = {
  add: {
    async prepare(values, positionals, UsageError) {
      if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
      if (!values.issuer) throw new UsageError("idp add needs --issuer");
      if (Boolean(values["jwks-uri"]) === Boolean(values.jwks)) throw new UsageError("idp add needs one of --jwks-uri and --jwks");
      return {
        issuer: values.issuer,
        jwksUri: values["jwks-uri"],
        jwks: values.jwks ? await readJwks(values.jwks, UsageError) : undefined,
        allowNewUsers: values["allow-new-users"] === true,
      };
    },
    async run(context, input) {
      const idp = await addIdentityProvider(context, input, OPERATOR);
      return {
        json: { issuer: idp.issuer, id: idp.id, jwks_uri: idp.jwksUri, inline_keys: idp.inlineKeys, allow_new_users: idp.allowNewUsers },
        text: [`Trusted ${idp.issuer} (${idp.jwksUri ? `keys from ${idp.jwksUri}` : `${idp.inlineKeys} key(s) inline`}; new users ${idp.allowNewUsers ? "allowed" : "not allowed"}).`],
      };
    },
  } satisfies Command<Parameters<typeof addIdentityProvider>[1]>,
  list: {
    prepare: () => null,
    async run(context) {
      const rows = await listIdentityProviders(context);
      return {
        json: rows.map((r) => ({ issuer: r.issuer, id: r.id, jwks_uri: r.jwksUri, inline_keys: r.inlineKeys, allow_new_users: r.allowNewUsers, disabled: r.disabled, active_grants: r.activeGrants })),
        text: rows.length === 0 ? ["No trusted identity providers."] : rows.map((r) => `${r.issuer}  ${r.disabled ? "disabled" : "active"}  ${r.jwksUri ?? `${r.inlineKeys} inline key(s)`}  new users: ${r.allowNewUsers ? "yes" : "no"}`),
      };
    },
  } satisfies Command<null>,
  remove: {
    prepare: (_values, positionals, UsageError) => one(positionals, "issuer", UsageError),
    async run(context, issuer) {
      const counts = await removeIdentityProvider(context, issuer, OPERATOR);
      return { json: { issuer: counts.issuer, removed: true, revoked: { grants: counts.grants, accessTokens: counts.accessTokens } }, text: [`Removed ${counts.issuer} (${counts.grants} grant(s) revoked).`] };
    },
  } satisfies Command<string>,
};
