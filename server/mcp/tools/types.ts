/**
 * What a tool is: a name, a zod input schema (the SDK publishes it as JSON Schema and validates arguments with it,
 * answering bad arguments with an `isError` result naming the field), annotations (MCP 2026-07-28 §Tools), the scopes
 * a call needs, and a handler that gets the verified caller. Tools read and write through domain functions
 * (server/oauth, …).
 */
import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { ZodRawShape, z } from "zod";
import type { PrismaClient } from "../../db/client.ts";
import type { Env } from "../../env.ts";
import type { DomainEventBus, EventOrigin } from "../../events.ts";
import type { Logger } from "../../logger.ts";
import type { McpCaller } from "../bearer.ts";

/** What tools use of the process's services (handed in by server/mcp/service.ts). */
export interface ToolServices {
  env: Env;
  prisma: PrismaClient;
  events: DomainEventBus;
  log: Logger;
}

export interface ToolContext {
  services: ToolServices;
  caller: McpCaller;
  origin: EventOrigin;
  signal: AbortSignal;
}

export interface ToolDefinition<Shape extends ZodRawShape = ZodRawShape> {
  name: string;
  title: string;
  description: string;
  inputSchema: Shape;
  annotations: ToolAnnotations;
  /**
   * The scopes a call needs (besides the endpoint's `mcp:tools:read`), checked before it runs: a token without them
   * gets 403 `insufficient_scope` and the client steps up (tool-scopes.ts). Broader scopes cover narrower ones.
   */
  scopes: readonly string[];
  /** Admin tools need the `mcp:admin` scope AND the ADMIN role; nobody else sees them in `tools/list`. */
  admin?: boolean;
  handler(args: z.infer<z.ZodObject<Shape>>, context: ToolContext): Promise<Record<string, unknown>>;
}

/** An error whose message is meant for the caller (bad id, not found, not allowed). */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly outcome: "error" | "denied" = "error",
  ) {
    super(message);
    this.name = "ToolError";
  }
}

export function defineTool<Shape extends ZodRawShape>(tool: ToolDefinition<Shape>): ToolDefinition<Shape> {
  return tool;
}
