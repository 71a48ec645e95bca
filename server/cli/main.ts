/**
 * `mcp-oauth-server <command>`: the operator's command line. Errors are one line on stderr and a non-zero exit;
 * `--json` output is one JSON document on stdout.
 *
 *   doctor <MCP server URL> [--interactive | --client-credentials --client-id ID --client-secret S | --token T]
 *          [--origin O] [--tool NAME] [--scope "S1 S2"] [--port N] [--timeout SECONDS] [--json]
 *   clients create|list|show|disable|enable|delete   machine clients (admin.ts)
 *   idp add|list|remove                             trusted identity providers (admin.ts)
 *   migrate            apply the database migrations (DATABASE_URL, or the embedded database in DATA_DIR)
 *   start              start the server (as `npm start`)
 */
import { parseArgs } from "node:util";
import { runDoctor } from "./doctor/index.ts";
import { formatStep } from "./doctor/report.ts";
import { runAdminCommand } from "./admin.ts";
import { openAdminContext } from "./admin-context.ts";

const USAGE = `Usage: mcp-oauth-server <command> [options]

Commands:
  doctor <url>   check an MCP server from outside, as a client would (no database needed)
                 --interactive          sign in through the browser and call the tools
                 --client-credentials   use a machine client (--client-id, --client-secret, or the
                                        environment's MCP_CLIENT_ID / MCP_CLIENT_SECRET)
                 --token <token>        use this access token
                 --origin <origin>      send this browser Origin (a browser-based client's view)
                 --tool <name>          the tool to call (default whoami, else one without arguments)
                 --scope "<scopes>"     scopes to ask for
                 --port <n>             loopback port of the redirect URI (default: any free one)
                 --timeout <seconds>    how long to wait for the browser (default 300)
                 --json                 one JSON document on stdout
  clients create --name NAME --grant-types client_credentials[,jwt-bearer]
                 [--auth-method client_secret_basic|private_key_jwt] [--jwks-uri URL | --jwks FILE]
                 [--scope "S1 S2"] [--json]
                                  create a machine client (prints client_id, and client_secret once)
  clients list | show ID | disable ID | enable ID | delete ID   [--json]
  idp add --issuer URL (--jwks-uri URL | --jwks FILE) [--allow-new-users] [--json]
                                  trust an enterprise identity provider's ID-JAGs
  idp list | remove ISSUER        [--json]
  migrate        apply the database migrations
  start          start the server
`;

export class UsageError extends Error {}

export async function main(argv: string[], io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) }): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "doctor":
      return doctor(rest, io);
    case "clients":
    case "idp":
      return runAdminCommand(command, rest, io, UsageError, () => openAdminContext());
    case "migrate":
      await import("../../scripts/migrate.ts");
      return process.exitCode === undefined ? 0 : Number(process.exitCode);
    case "start":
      await import("../../scripts/start.js");
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      io.out(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new UsageError(`unknown command "${command}" (see mcp-oauth-server --help)`);
  }
}

async function doctor(args: string[], io: { out(s: string): void; err(s: string): void }): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      interactive: { type: "boolean" },
      "client-credentials": { type: "boolean" },
      "client-id": { type: "string" },
      "client-secret": { type: "string" },
      token: { type: "string" },
      origin: { type: "string" },
      tool: { type: "string" },
      scope: { type: "string" },
      port: { type: "string" },
      timeout: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const url = positionals[0];
  if (!url || positionals.length > 1) throw new UsageError("doctor needs exactly one MCP server URL, e.g. mcp-oauth-server doctor https://mcp.example.com/mcp");
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) throw new UsageError(`"${url}" is not an http(s) URL`);
  if (values.interactive && values["client-credentials"]) throw new UsageError("choose one of --interactive and --client-credentials");
  const number = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number`);
    return n;
  };
  const json = values.json === true;
  const report = await runDoctor({
    url,
    interactive: values.interactive,
    clientCredentials: values["client-credentials"],
    // The environment keeps a secret out of the process list and shell history.
    clientId: values["client-id"] ?? process.env.MCP_CLIENT_ID,
    clientSecret: values["client-secret"] ?? process.env.MCP_CLIENT_SECRET,
    token: values.token,
    origin: values.origin,
    tool: values.tool,
    scope: values.scope,
    port: number("port", values.port),
    timeoutSeconds: number("timeout", values.timeout),
    onStep: json ? undefined : (step) => io.out(formatStep(step) + "\n"),
    say: (line) => io.err(line + "\n"),
  });
  if (json) io.out(JSON.stringify(report) + "\n");
  else io.out(report.ok ? "\nAll checks passed.\n" : "\nSome checks failed: see the causes and fixes above.\n");
  return report.ok ? 0 : 1;
}
