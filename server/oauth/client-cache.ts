/**
 * Client rows for client authentication, kept in memory between requests: every token, introspection and revocation
 * request starts by reading its client, and most come from a few clients.
 *
 * The database says when a row changes. A trigger (prisma/migrations/*_client_change_notify) sends
 * `NOTIFY oauth_client_changed, '<client_id>'` when a Client row changes other than its last-use columns or is
 * deleted, and `'*'` when the table is truncated; each node LISTENs on one connection of its own, so an edit made
 * anywhere (another node, the CLI, Prisma, psql) empties that entry on every node once it commits. Nothing is cached
 * while the listener is not connected (startup, a dropped connection), and a reconnect empties the cache, so a change
 * missed meanwhile is never served. A read that raced a change is not stored (the generation check), and entries
 * expire after a minute anyway.
 *
 * Only rows that exist are cached (a stream of unknown client_ids must not fill memory), at most MAX_ENTRIES.
 */
import pg from "pg";
import type { Logger } from "../logger.ts";
import type { ClientRecord } from "./clients.ts";

export const CLIENT_CHANGED_CHANNEL = "oauth_client_changed";
const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;
const RECONNECT_MS = [250, 1_000, 5_000];

export class ClientCache {
  private readonly entries = new Map<string, { row: ClientRecord; until: number }>();
  /** Bumped by every invalidation: a read that started before one must not store what it read. */
  private generation = 0;
  private listener: pg.Client | null = null;
  private connected = false;
  private stopped = false;
  private failures = 0;
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly deps: { connectionString: string | undefined; log: Logger }) {}

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

  get size(): number {
    return this.entries.size;
  }

  /** Starts listening; resolves once the listener is connected (or has failed once; it keeps retrying). */
  async start(): Promise<void> {
    if (!this.deps.connectionString) return;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.deps.connectionString, connectionTimeoutMillis: 2_000 });
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
      if (message.channel === CLIENT_CHANGED_CHANNEL) this.invalidate(message.payload ?? "*");
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CLIENT_CHANGED_CHANNEL}`);
      if (this.stopped || this.listener !== client) {
        await client.end().catch(() => {});
        return;
      }
      // Whatever changed before this moment is read fresh: the cache starts empty.
      this.invalidate("*");
      this.connected = true;
      this.failures = 0;
    } catch (error) {
      if (this.failures++ === 0) this.deps.log.warn({ err: (error as Error).message }, "client cache listener cannot connect; client rows are read every time");
      lost();
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
    this.connected = false;
    if (this.retry) clearTimeout(this.retry);
    const client = this.listener;
    this.listener = null;
    this.entries.clear();
    if (client) await client.end().catch(() => {});
  }
}
