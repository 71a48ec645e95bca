/**
 * The error the admin domain functions throw when a request cannot be done. Its `kind` is what the tRPC error
 * middleware (server/trpc/init.ts `toTRPCError`) maps to a code; `message` is safe to show to the admin.
 */
import type { DomainErrorKind } from "../init.ts";

export class AdminError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "AdminError";
  }
}
