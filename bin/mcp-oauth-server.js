#!/usr/bin/env node
// The operator's command line (server/cli/main.ts), run through tsx so a checkout needs no build step.
import { register } from "tsx/esm/api";

register();
const { main, UsageError } = await import("../server/cli/main.ts");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // One clear line, never a stack trace.
  const message = error instanceof UsageError || error?.code?.startsWith?.("ERR_PARSE_ARGS") ? error.message : `failed: ${error?.message ?? error}`;
  process.stderr.write(`mcp-oauth-server: ${message}\n`);
  process.exitCode = 2;
}
