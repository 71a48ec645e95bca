/**
 * CSRF protection for our own HTML forms (sign-in, consent, sign-out): a signed double-submit cookie. The form
 * carries the same random value as the `__csrf` cookie; a cross-site page can neither read nor set that cookie.
 * (tRPC mutations are protected by an Origin check instead.)
 */
import { createCookie, type Cookie } from "@remix-run/node";
import { randomBytes } from "node:crypto";
import { safeEqual } from "../crypto.ts";
import type { Env } from "../env.ts";

export const CSRF_FIELD = "csrf";

export class Csrf {
  private readonly cookie: Cookie;

  constructor(env: Env) {
    this.cookie = createCookie("__csrf", {
      secrets: [env.AUTH_SECRET ?? ""],
      httpOnly: true,
      sameSite: "lax",
      secure: env.secureCookies,
      path: "/",
    });
  }

  /** The token to put in a form, and the Set-Cookie header to send when the cookie is new. */
  async issue(request: Request): Promise<{ token: string; setCookie: string | null }> {
    const existing = await this.cookie.parse(request.headers.get("cookie"));
    if (typeof existing === "string" && existing.length >= 32) return { token: existing, setCookie: null };
    const token = randomBytes(24).toString("base64url");
    return { token, setCookie: await this.cookie.serialize(token) };
  }

  /** True when the submitted form carries the request's cookie token. */
  async verify(request: Request, form: FormData): Promise<boolean> {
    const expected = await this.cookie.parse(request.headers.get("cookie"));
    const submitted = form.get(CSRF_FIELD);
    return typeof expected === "string" && typeof submitted === "string" && safeEqual(expected, submitted);
  }
}
