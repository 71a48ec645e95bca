/**
 * The anchor of bench/token.ts: node-oidc-provider (panva, a certified OpenID provider) serving the
 * `client_credentials` grant with opaque access tokens and its in-memory adapter, in a process of its own. With
 * ANCHOR_DATABASE_URL it keeps its tokens in PostgreSQL instead (a minimal adapter below, one table, a pool of 10 as
 * ours), so the table can also show the same provider paying for durable storage as our server does.
 * bench/token.ts forks it, drives it with the same load generator and connection count as our server, and asks it
 * for its CPU time before and after (IPC), so the table's "server CPU per request" means the same on both sides.
 *
 * Protocol: the parent sends nothing to start; this process answers `{ url, body }` once listening, `{ cpu: { user, system } }`
 * (µs) for `"cpu"`, and exits on `"stop"`.
 */
import http from "node:http";
import Provider from "oidc-provider";
import pg from "pg";

const CLIENT = { client_id: "anchor-client", client_secret: "anchor-secret-" + "x".repeat(32) };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

/**
 * node-oidc-provider's adapter interface (lib/adapters/memory_adapter.js) over one PostgreSQL table: every model's
 * payloads by (model, id), with the lookups the interface names (user code, uid, grant id) as columns.
 */
function postgresAdapter(pool) {
  return class PostgresAdapter {
    constructor(model) {
      this.model = model;
    }
    async upsert(id, payload, expiresIn) {
      await pool.query(
        `INSERT INTO anchor_oidc_payload (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [this.model, id, payload, payload.grantId ?? null, payload.userCode ?? null, payload.uid ?? null, expiresIn ?? 3600],
      );
    }
    async find(id) {
      return this.#one("id = $2", id);
    }
    async findByUserCode(userCode) {
      return this.#one("user_code = $2", userCode);
    }
    async findByUid(uid) {
      return this.#one("uid = $2", uid);
    }
    async consume(id) {
      await pool.query(`UPDATE anchor_oidc_payload SET payload = payload || jsonb_build_object('consumed', extract(epoch FROM now())::int) WHERE model = $1 AND id = $2`, [this.model, id]);
    }
    async destroy(id) {
      await pool.query("DELETE FROM anchor_oidc_payload WHERE model = $1 AND id = $2", [this.model, id]);
    }
    async revokeByGrantId(grantId) {
      await pool.query("DELETE FROM anchor_oidc_payload WHERE grant_id = $1", [grantId]);
    }
    async #one(where, value) {
      const { rows } = await pool.query(`SELECT payload FROM anchor_oidc_payload WHERE model = $1 AND ${where} AND expires_at > now()`, [this.model, value]);
      return rows[0]?.payload;
    }
  };
}

let adapter;
if (process.env.ANCHOR_DATABASE_URL) {
  const pool = new pg.Pool({ connectionString: process.env.ANCHOR_DATABASE_URL, max: 10 });
  await pool.query(`
    CREATE TABLE IF NOT EXISTS anchor_oidc_payload (
      model text NOT NULL, id text NOT NULL, payload jsonb NOT NULL, grant_id text, user_code text, uid text,
      expires_at timestamptz NOT NULL, PRIMARY KEY (model, id));
    CREATE INDEX IF NOT EXISTS anchor_oidc_payload_grant_id ON anchor_oidc_payload (grant_id);
    CREATE INDEX IF NOT EXISTS anchor_oidc_payload_user_code ON anchor_oidc_payload (user_code);
    CREATE INDEX IF NOT EXISTS anchor_oidc_payload_uid ON anchor_oidc_payload (uid)`);
  adapter = postgresAdapter(pool);
}

const provider = new Provider(issuer, {
  ...(adapter ? { adapter } : {}),
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
