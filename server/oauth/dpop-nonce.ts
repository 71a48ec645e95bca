/**
 * DPoP server nonces (RFC 9449 §8 at the authorization server, §9 at resources), valid on every node without shared
 * state: a nonce is the current time window's number with an HMAC over it (key derived from AUTH_SECRET). Windows
 * last `windowSeconds`; a nonce of the current or the previous window is accepted, so a client holding a nonce has
 * between one and two windows to use it, and each response that needs one carries the current window's (rotation).
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

export class DpopNonces {
  private readonly key: Buffer;

  constructor(
    secret: string,
    private readonly windowSeconds = 300,
  ) {
    this.key = Buffer.from(hkdfSync("sha256", secret, "mcp-oauth-server", "dpop-nonce-v1", 32));
  }

  /** The nonce of the window `now` falls in. */
  current(now = Date.now()): string {
    return this.nonceFor(this.window(now));
  }

  isValid(nonce: string, now = Date.now()): boolean {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(nonce);
    if (!match) return false;
    const window = Number(match[1]);
    const current = this.window(now);
    if (window !== current && window !== current - 1) return false;
    const expected = Buffer.from(this.nonceFor(window));
    const given = Buffer.from(nonce);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private window(now: number): number {
    return Math.floor(now / 1000 / this.windowSeconds);
  }

  /** The last window's nonce, kept: every token response carries the current one (an HMAC each time otherwise). */
  private last = { window: -1, nonce: "" };

  private nonceFor(window: number): string {
    if (window === this.last.window) return this.last.nonce;
    const nonce = `${window}.${createHmac("sha256", this.key).update(String(window)).digest("base64url")}`;
    if (window > this.last.window) this.last = { window, nonce };
    return nonce;
  }
}
