/**
 * `whoami`: who the access token speaks for — the signed-in person, the client acting for them, what it may do and
 * until when. Read-only; answers from the verified token without touching the database.
 */
import { McpScope } from "../../oauth/scopes.ts";
import { defineTool } from "./types.ts";

export const whoami = defineTool({
  name: "whoami",
  title: "Who am I",
  description:
    "Shows the person this connection acts for (email, name, role), the connected app (client), the granted scopes and when the access token expires.",
  inputSchema: {},
  annotations: { title: "Who am I", readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  scopes: [McpScope.toolsRead],
  async handler(_args, { caller }) {
    return {
      // A machine client's token (client_credentials) acts for no person: `user` is null.
      user: caller.userId ? { id: caller.userId, email: caller.email, name: caller.name, role: caller.role } : null,
      client: { clientId: caller.clientId, name: caller.clientName },
      scopes: caller.scopes,
      resource: caller.resource,
      tokenExpiresAt: caller.expiresAt.toISOString(),
    };
  },
});
