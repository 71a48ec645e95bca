/**
 * The error domain functions throw when a request cannot be done (no such user, a configured admin cannot be
 * demoted, …). Its `kind` is what the tRPC error middleware (server/trpc/init.ts `toTRPCError`) maps to a code;
 * `message` is safe to show to the person.
 */
export type DomainErrorKind = "invalid" | "not_found" | "conflict" | "forbidden" | "precondition";

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}
