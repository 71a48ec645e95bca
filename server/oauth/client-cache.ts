/**
 * Client rows for client authentication, kept in memory between requests: every token, introspection and revocation
 * request starts by reading its client, and most come from a few clients.
 *
 * The database says when a row changes. A trigger (prisma/migrations/*_client_change_notify) sends
 * `NOTIFY oauth_client_changed, '<client_id>'` when a Client row changes other than its last-use columns or is
 * deleted, and `'*'` when the table is truncated; each node LISTENs on one connection of its own, so an edit made
 * anywhere (another node, the CLI, Prisma, psql) empties that entry on every node once it commits. Nothing is cached
 * while the listener is not connected (startup, a dropped connection), and a reconnect empties the cache, so a change
 * missed meanwhile is never served. Caching starts only once a probe NOTIFY sent through the request pool has come
 * back on the listener (a connection pooler in transaction mode, e.g. PgBouncer, accepts LISTEN but never delivers),
 * and the probe repeats every 30 s: one not back within 2 s stops caching until the next one is. A read that raced a
 * change is not stored (the generation check), and entries expire after a minute anyway.
 *
 * A change made through this node's admin functions is dropped at once, before its notification comes back from the
 * database (a moment later, which a request sent right after the change could beat, where without a cache it could
 * not): every such change is announced on the domain event bus as an ADMIN_ACTION naming the client
 * (server/audit.ts), as the MCP token cache learns of revocations from the bus.
 *
 * Only rows that exist are cached (a stream of unknown client_ids must not fill memory), at most MAX_ENTRIES.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import type { DomainEventBus } from "../events.ts";
import type { Logger } from "../logger.ts";
import type { Prisma } from "../db/client.ts";

/** A Client row as clients.ts reads it (`ClientRecord` there; named here from Prisma so the two files do not import each other). */
type ClientRecord = Prisma.ClientModel;

export const CLIENT_CHANGED_CHANNEL = "oauth_client_changed";
const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
const RECONNECT_MS = [250, 1_000, 5_000];
const PROBE_EVERY_MS = 30_000;
const PROBE_WAIT_MS = 2_000;
/** Client ids are generated (`mcpc_…`) or https URLs, so no client_id starts with this. */
const PROBE_PREFIX = "probe:";

export class ClientCache {
  private readonly entries = new Map<string, { row: ClientRecord; until: number }>();
  /** Bumped by every invalidation: a read that started before one must not store what it read. */
  private generation = 0;
  private listener: pg.Client | null = null;
  private connected = false;
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;
  private probing: NodeJS.Timeout | null = null;
  /** Payloads of probes sent and not yet heard back, with what to do when they are. */
  private readonly probes = new Map<string, () => void>();

  private readonly unsubscribe: () => void;

  constructor(private readonly deps: { pool: pg.Pool; log: Logger; events: DomainEventBus }) {
    this.unsubscribe = deps.events.on("security.event", (event) => {
      if (event.type === "ADMIN_ACTION" && event.clientId) this.invalidateRow(event.clientId);
    });
  }

  /** The cached row, if fresh. */
  get(clientId: string, now = Date.now()): ClientRecord | undefined {
    const entry = this.entries.get(clientId);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.entries.delete(clientId);
      return undefined;
    }
    return entry.row;
  }

  /** A token to pass to `set` with what is read after it. */
  begin(): number {
    return this.generation;
  }

  /** Stores `row` as read since `begin()` returned `generation`, unless a change arrived meanwhile or nobody listens. */
  set(row: ClientRecord, generation: number, now = Date.now()): void {
    if (!this.connected || generation !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(row.clientId, { row, until: now + TTL_MS });
  }

  /** Forgets `clientId` ('*': every client). */
  invalidate(clientId: string): void {
    this.generation++;
    if (clientId === "*") this.entries.clear();
    else this.entries.delete(clientId);
  }

  /** Forgets the client whose row id (`Client.id`) is `rowId`. */
  private invalidateRow(rowId: string): void {
    this.generation++;
    for (const [clientId, entry] of this.entries) if (entry.row.id === rowId) this.entries.delete(clientId);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Starts listening; resolves once the listener is connected (or has failed once; it keeps retrying). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.deps.pool.options.connectionString, connectionTimeoutMillis: 2_000 });
    this.listener = client;
    const lost = () => {
      if (this.listener !== client) return;
      this.listener = null;
      this.connected = false;
      this.invalidate("*");
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on("error", lost);
    client.on("end", lost);
    client.on("notification", (message) => {
      if (message.channel !== CLIENT_CHANGED_CHANNEL) return;
      const payload = message.payload ?? "*";
      // Probes (this node's, or another node's on the same channel) name no client.
      if (payload.startsWith(PROBE_PREFIX)) this.probes.get(payload)?.();
      else this.invalidate(payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CLIENT_CHANGED_CHANNEL}`);
      if (this.stopped || this.listener !== client) {
        await client.end().catch(() => {});
        return;
      }
      this.failures = 0;
      await this.probe(client);
      this.probing ??= setInterval(() => {
        if (this.listener) void this.probe(this.listener);
      }, PROBE_EVERY_MS).unref();
    } catch (error) {
      if (this.failures++ === 0) this.deps.log.warn({ err: (error as Error).message }, "client cache listener cannot connect; client rows are read every time");
      lost();
    }
  }

  /** Caches only while a NOTIFY sent through the pool arrives on `client` within PROBE_WAIT_MS. */
  private async probe(client: pg.Client): Promise<void> {
    const payload = `${PROBE_PREFIX}${randomUUID()}`;
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), PROBE_WAIT_MS);
      this.probes.set(payload, () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    try {
      await this.deps.pool.query("SELECT pg_notify($1, $2)", [CLIENT_CHANGED_CHANNEL, payload]);
    } catch {
      // The database is unreachable: the probe is not heard, caching stops.
    }
    const ok = await heard;
    this.probes.delete(payload);
    if (this.listener !== client || this.stopped) return;
    if (ok && !this.connected) {
      // Whatever changed before this moment is read fresh: the cache starts empty.
      this.invalidate("*");
      this.connected = true;
    } else if (!ok && this.connected) {
      this.connected = false;
      this.invalidate("*");
      this.deps.log.warn("client cache: change notifications do not arrive (a transaction-mode pooler?); client rows are read every time");
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    const delay = RECONNECT_MS[Math.min(this.failures, RECONNECT_MS.length - 1)];
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, delay);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.connected = false;
    if (this.retry) clearTimeout(this.retry);
    if (this.probing) clearInterval(this.probing);
    const client = this.listener;
    this.listener = null;
    this.entries.clear();
    if (client) await client.end().catch(() => {});
  }
}
