/**
 * Issue 14: client rows are kept in memory between token requests (server/oauth/client-cache.ts), and a change made
 * anywhere (here: another connection, as the CLI, psql or another node would) is never served once it has committed
 * and its notification arrived: disabling, rotating the secret, deleting. Last-use updates do not empty the cache;
 * a dropped listener empties it and nothing is cached until it listens again; a read that raced a change is not kept.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPERATOR } from "../../server/audit.ts";
import { DomainEventBus } from "../../server/events.ts";
import { createLogger } from "../../server/logger.ts";
import { ClientCache } from "../../server/oauth/client-cache.ts";
import { generateClientSecret } from "../../server/oauth/client-secrets.ts";
import { setClientDisabled } from "../../server/oauth/client-admin.ts";
import { createMachineClient } from "../../server/oauth/machine-clients.ts";
import { untilClientCacheForgets, type TestServer } from "../helpers/server.ts";
import { basic, startOAuthFixture, tokenRequest } from "./oauth-support.ts";

let server: TestServer;
/** Another connection to the server's database: what the CLI, psql or another node would use. */
let elsewhere: pg.Pool;

beforeAll(async () => {
  ({ server } = await startOAuthFixture());
  elsewhere = new pg.Pool({ connectionString: server.services.db.pool.options.connectionString, max: 1 });
});

afterAll(async () => {
  await elsewhere.end();
});

async function machine() {
  const { client, clientSecret } = await createMachineClient(server.services, { name: "cached job", grantTypes: ["client_credentials"] }, OPERATOR);
  return { clientId: client.clientId, secret: clientSecret! };
}

const grant = (clientId: string, secret: string) =>
  tokenRequest(server.url, { grant_type: "client_credentials" }, { headers: { authorization: basic(clientId, secret) } });

const cache = () => server.services.oauth.clientCache;

/** Waits (bounded) until the cache no longer holds `clientId`: the change's notification arrived. */
const forgotten = (clientId: string) => untilClientCacheForgets(server, clientId);

describe("client rows between requests, emptied by the database's change notifications", () => {
  it("disabling, rotating the secret and deleting, done on another connection, are never served once notified", async () => {
    const job = await machine();
    expect((await grant(job.clientId, job.secret)).status).toBe(200);
    expect(cache().get(job.clientId)?.clientId).toBe(job.clientId);

    await elsewhere.query(`UPDATE "Client" SET disabled = true WHERE "clientId" = $1`, [job.clientId]);
    await forgotten(job.clientId);
    expect((await grant(job.clientId, job.secret)).body.error).toBe("invalid_client");

    await elsewhere.query(`UPDATE "Client" SET disabled = false WHERE "clientId" = $1`, [job.clientId]);
    await forgotten(job.clientId);
    expect((await grant(job.clientId, job.secret)).status).toBe(200);

    const rotated = generateClientSecret();
    await elsewhere.query(`UPDATE "Client" SET "clientSecretHash" = $2 WHERE "clientId" = $1`, [job.clientId, rotated.hash]);
    await forgotten(job.clientId);
    expect((await grant(job.clientId, job.secret)).body.error).toBe("invalid_client");
    expect((await grant(job.clientId, rotated.secret)).status).toBe(200);

    await elsewhere.query(`DELETE FROM "Client" WHERE "clientId" = $1`, [job.clientId]);
    await forgotten(job.clientId);
    expect((await grant(job.clientId, rotated.secret)).body.error).toBe("invalid_client");
  });

  it("a change made on this node is dropped at once, without waiting for its notification: the disabled client is refused by the very next request", async () => {
    const job = await machine();
    expect((await grant(job.clientId, job.secret)).status).toBe(200);
    const row = cache().get(job.clientId)!;
    expect(row.clientId).toBe(job.clientId);
    // The announcement every admin change to a client makes (server/audit.ts), here alone: no database change, so no
    // notification can be what empties the entry.
    server.services.events.security({ type: "ADMIN_ACTION", severity: "low", userId: null, clientId: row.id, details: { action: "client.updated" } });
    expect(cache().get(job.clientId)).toBeUndefined();
    // A read that started before the change does not store the row it read.
    const before = cache().begin();
    server.services.events.security({ type: "ADMIN_ACTION", severity: "low", userId: null, clientId: row.id, details: { action: "client.updated" } });
    cache().set(row, before);
    expect(cache().get(job.clientId)).toBeUndefined();

    // End to end, as the console does it: the request right after disabling is refused.
    expect((await grant(job.clientId, job.secret)).status).toBe(200);
    await setClientDisabled(server.services, row.id, true, OPERATOR);
    expect((await grant(job.clientId, job.secret)).body.error).toBe("invalid_client");
  });

  it("a request decided on a row the notification has not yet emptied gets the fresh answer when refused: invalid_client", async () => {
    const job = await machine();
    expect((await grant(job.clientId, job.secret)).status).toBe(200);
    const stale = cache().get(job.clientId)!;
    const stillThere = () => cache().set(stale, cache().begin());

    // A new secret: the stale row holds the old digest. A stale row may let a request through (as a request racing
    // the change would); a refusal on it is decided again on a fresh row.
    const rotated = generateClientSecret();
    await elsewhere.query(`UPDATE "Client" SET "clientSecretHash" = $2 WHERE "clientId" = $1`, [job.clientId, rotated.hash]);
    await forgotten(job.clientId);
    stillThere();
    // The new secret, refused by the stale row, is accepted on the fresh one.
    expect((await grant(job.clientId, rotated.secret)).status).toBe(200);

    // Deleted, with the stale row still cached: the grant's insert fails on the missing client; the answer is the
    // fresh read's invalid_client, never a 500.
    const deletedRow = cache().get(job.clientId)!;
    await elsewhere.query(`DELETE FROM "Client" WHERE "clientId" = $1`, [job.clientId]);
    await forgotten(job.clientId);
    cache().set(deletedRow, cache().begin());
    const refused = await grant(job.clientId, rotated.secret);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("invalid_client");
  });

  it("the last-use columns every token request may touch do not empty the cache", async () => {
    const job = await machine();
    expect((await grant(job.clientId, job.secret)).status).toBe(200);
    await elsewhere.query(`UPDATE "Client" SET "lastUsedAt" = now(), "firstTokenAt" = now() WHERE "clientId" = $1`, [job.clientId]);
    // A notification would arrive within milliseconds; give it far longer.
    await new Promise((r) => setTimeout(r, 300));
    expect(cache().get(job.clientId)?.clientId).toBe(job.clientId);
  });

  it("a dropped listener empties the cache and nothing is cached until it listens again", async () => {
    const job = await machine();
    expect((await grant(job.clientId, job.secret)).status).toBe(200);
    expect(cache().size).toBeGreaterThan(0);
    const { rowCount } = await elsewhere.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN oauth_client_changed%'`,
    );
    expect(rowCount).toBe(1);
    const until = Date.now() + 5_000;
    while (cache().size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(cache().size).toBe(0);
    // Still served (from the database) meanwhile, and cached again once the listener is back.
    for (let i = 0; i < 300 && !cache().get(job.clientId); i++) {
      expect((await grant(job.clientId, job.secret)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(cache().get(job.clientId)?.clientId).toBe(job.clientId);
    // And it hears changes again.
    await elsewhere.query(`UPDATE "Client" SET disabled = true WHERE "clientId" = $1`, [job.clientId]);
    await forgotten(job.clientId);
    expect((await grant(job.clientId, job.secret)).body.error).toBe("invalid_client");
  });

  it("caches nothing when change notifications do not come back (as behind a transaction-mode pooler)", async () => {
    const url = server.services.db.pool.options.connectionString!;
    // The probe NOTIFY goes out on another database's connection, so it never reaches the listener: the position a
    // pooler that accepts LISTEN but never delivers puts the node in.
    const other = new URL(url);
    other.pathname = "/postgres";
    const elsewherePool = new pg.Pool({ connectionString: other.toString(), max: 1 });
    const deaf = new ClientCache({ pool: { options: { connectionString: url }, query: elsewherePool.query.bind(elsewherePool) } as unknown as pg.Pool, log: createLogger("silent"), events: new DomainEventBus() });
    const heard = new ClientCache({ pool: elsewhere, log: createLogger("silent"), events: new DomainEventBus() });
    try {
      await Promise.all([deaf.start(), heard.start()]);
      const job = await machine();
      const { rows } = await elsewhere.query(`SELECT * FROM "Client" WHERE "clientId" = $1`, [job.clientId]);
      deaf.set(rows[0], deaf.begin());
      heard.set(rows[0], heard.begin());
      expect(deaf.get(job.clientId)).toBeUndefined();
      expect(heard.get(job.clientId)?.clientId).toBe(job.clientId);
    } finally {
      await Promise.all([deaf.stop(), heard.stop(), elsewherePool.end()]);
    }
  });

  it("a read that raced a change is not kept", async () => {
    const job = await machine();
    const { rows } = await elsewhere.query(`SELECT * FROM "Client" WHERE "clientId" = $1`, [job.clientId]);
    const before = cache().begin();
    cache().invalidate("someone-else");
    cache().set(rows[0], before);
    expect(cache().get(job.clientId)).toBeUndefined();
    cache().set(rows[0], cache().begin());
    expect(cache().get(job.clientId)?.clientId).toBe(job.clientId);
  });
});
