/**
 * The anchor of bench/token.ts: node-oidc-provider (panva, a certified OpenID provider) serving the
 * `client_credentials` grant with opaque access tokens and its in-memory adapter, in a process of its own.
 * bench/token.ts forks it, drives it with the same load generator and connection count as our server, and asks it
 * for its CPU time before and after (IPC), so the table's "server CPU per request" means the same on both sides.
 *
 * Protocol: the parent sends nothing to start; this process answers `{ url, body }` once listening, `{ cpu: { user, system } }`
 * (µs) for `"cpu"`, and exits on `"stop"`.
 */
import http from "node:http";
import Provider from "oidc-provider";

const CLIENT = { client_id: "anchor-client", client_secret: "anchor-secret-" + "x".repeat(32) };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      ...CLIENT,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: "client_secret_post",
      scope: "api",
    },
  ],
  scopes: ["api"],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  // Opaque tokens (the default format without resource indicators); the default adapter keeps them in memory.
  ttl: { ClientCredentials: 3600 },
});
// Development signing keys and the in-memory adapter each print a warning once: not errors here.
provider.on("server_error", (_ctx, error) => process.stderr.write(`anchor server_error: ${error}\n`));
server.on("request", provider.callback());

process.on("message", (message) => {
  if (message === "cpu") {
    process.send({ cpu: process.cpuUsage() });
  } else if (message === "stop") {
    server.close();
    process.exit(0);
  }
});
process.send({ url: `${issuer}/token`, body: new URLSearchParams({ grant_type: "client_credentials", scope: "api", ...CLIENT }).toString() });
