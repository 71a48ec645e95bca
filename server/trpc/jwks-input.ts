/**
 * A JWK Set pasted into the console (machine clients, identity providers) arrives as text; the domain validates what
 * it holds (RFC 7517 §5), this only turns the text into a value or refuses text that is not JSON.
 */
import { DomainError } from "../domain-error.ts";

export function parseJwksInput(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new DomainError("invalid", "The JWK Set is not valid JSON.");
  }
}
