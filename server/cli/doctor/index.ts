/**
 * `mcp-oauth-server doctor <MCP server URL>`: a careful MCP client against any deployment (ours or anyone's, or the
 * proxy in front of it), step by step: the 401 challenge, both metadata documents, registration support, PKCE and
 * `iss`; with `--token`, `--interactive` or `--client-credentials` also a token and the MCP calls themselves. Needs
 * no database. Each step prints ✓/✗ with the cause and the fix; `--json` prints one document; the exit status is 0
 * only when no step failed.
 */
import { clientCredentialsToken, interactiveToken } from "./authorize.ts";
import { discover } from "./discovery.ts";
import { checkMcpCalls } from "./mcp-calls.ts";
import { Report, type Step } from "./report.ts";

export interface DoctorOptions {
  url: string;
  interactive?: boolean;
  clientCredentials?: boolean;
  clientId?: string;
  clientSecret?: string;
  token?: string;
  origin?: string;
  tool?: string;
  scope?: string;
  port?: number;
  timeoutSeconds?: number;
  onStep?: (step: Step) => void;
  say?: (line: string) => void;
}

export async function runDoctor(options: DoctorOptions): Promise<Report> {
  const report = new Report(options.onStep);
  const mcpUrl = new URL(options.url);
  const found = await discover({ mcpUrl, origin: options.origin, report });
  if (!found) return report;
  if (!found.protected) {
    await checkMcpCalls({ mcpUrl, origin: options.origin, tool: options.tool, report });
    return report;
  }
  let token = options.token;
  const scopes = options.scope ? options.scope.split(" ").filter(Boolean) : undefined;
  if (!token && (options.interactive || options.clientCredentials)) {
    if (!found.as || !found.resource) {
      report.skip("token", "Token", "discovery did not complete");
      return report;
    }
    const common = { as: found.as, resource: found.resource, scopes, clientId: options.clientId, clientSecret: options.clientSecret, report };
    token = options.clientCredentials
      ? await clientCredentialsToken(common)
      : await interactiveToken({
          ...common,
          port: options.port ?? 0,
          timeoutMs: (options.timeoutSeconds ?? 300) * 1000,
          say: options.say ?? (() => {}),
        });
    if (!token) return report;
  }
  if (!token) {
    report.skip("mcp", "MCP calls with a token", "pass --interactive, --client-credentials or --token to go on");
    return report;
  }
  await checkMcpCalls({ mcpUrl, token, origin: options.origin, tool: options.tool, report });
  return report;
}
