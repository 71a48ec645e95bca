/**
 * Streamable HTTP sessions (MCP 2025-11-25 Transports §"Session Management"), when MCP_SESSIONS=true.
 *
 * A session is only a record — who opened it (user and client) — kept in Redis when REDIS_URL is set (so the next
 * request may land on any node) and in memory otherwise. No MCP state lives in a session: every request is served
 * like any other request (ADR 0010, ADR 0013). A session id is a
 * 256-bit random value; it is bound to the user and client that created it, so another token cannot ride on it.
 * Sessions idle for MCP_SESSION_IDLE_SECONDS are forgotten; DELETE ends one on every node at once.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../logger.ts";
import type { RedisService } from "../redis.ts";

export interface SessionRecord {
  /** Null for a machine client (client_credentials). */
  userId: string | null;
  clientDbId: string;
  createdAt: number;
}

export class SessionStore {
  private readonly memory = new Map<string, { record: SessionRecord; until: number }>();
  private readonly maxMemory = 50_000;

  constructor(
    private readonly deps: { redis: RedisService | null; log: Logger },
    private readonly idleSeconds: number,
  ) {}

  static newId(): string {
    return randomBytes(32).toString("base64url");
  }

  private key(id: string): string {
    return this.deps.redis!.key(`mcp:session:${id}`);
  }

  async create(id: string, record: SessionRecord): Promise<void> {
    const { redis } = this.deps;
    if (redis) {
      try {
        await redis.client().set(this.key(id), JSON.stringify(record), "EX", this.idleSeconds);
        return;
      } catch (error) {
        this.deps.log.warn({ err: { message: (error as Error).message } }, "MCP session kept on this node only: Redis unreachable");
      }
    }
    this.remember(id, record);
  }

  /** The session's record (refreshing its idle timeout), or null when unknown, ended or expired. */
  async get(id: string): Promise<SessionRecord | null> {
    const { redis } = this.deps;
    if (redis) {
      try {
        const value = await redis.client().getex(this.key(id), "EX", this.idleSeconds);
        if (value) return JSON.parse(value) as SessionRecord;
      } catch {
        /* Redis unreachable: a session created meanwhile may be in memory */
      }
    }
    const entry = this.memory.get(id);
    if (!entry) return null;
    if (entry.until <= Date.now()) {
      this.memory.delete(id);
      return null;
    }
    entry.until = Date.now() + this.idleSeconds * 1000;
    return entry.record;
  }

  /** Ends a session everywhere; resolves whether it existed. */
  async delete(id: string): Promise<boolean> {
    let existed = this.memory.delete(id);
    const { redis } = this.deps;
    if (redis) {
      try {
        existed = (await redis.client().del(this.key(id))) > 0 || existed;
      } catch {
        /* Redis unreachable: it forgets the session after its idle timeout */
      }
    }
    return existed;
  }

  private remember(id: string, record: SessionRecord): void {
    if (this.memory.size >= this.maxMemory) {
      const oldest = this.memory.keys().next().value;
      if (oldest !== undefined) this.memory.delete(oldest);
    }
    this.memory.set(id, { record, until: Date.now() + this.idleSeconds * 1000 });
  }
}
