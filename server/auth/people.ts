/**
 * People signing in to *this* app (not OAuth clients: see server/oauth). Sessions live in the Session table; the
 * cookie carries a random token whose SHA-256 digest is the row's key, signed with AUTH_SECRET; httpOnly,
 * SameSite=Lax, Secure when APP_URL is https.
 */
import { createCookie, redirect, type Cookie } from "@remix-run/node";
import type { PrismaClient, Role, UserModel as User } from "../db/client.ts";
import { SecretPrefix, randomSecret, sha256Hex } from "../crypto.ts";
import type { Env } from "../env.ts";
import type { Logger } from "../logger.ts";
import { GoogleSignIn } from "./google.ts";
import { RETURN_TO_MAX_LENGTH, safeReturnTo } from "./return-to.ts";
import type { RequestOrigin, SessionUser, SignInProfile } from "./session-user.ts";

export { safeReturnTo };

export interface PeopleAuthDeps {
  env: Env;
  prisma: PrismaClient;
  log: Logger;
}

export const SESSION_COOKIE = "__session";

export class PeopleAuth {
  readonly cookie: Cookie;
  /** "Sign in with Google" (enabled when GOOGLE_CLIENT_ID/SECRET are set). */
  readonly google: GoogleSignIn;
  private readonly maxAgeSeconds: number;

  constructor(private readonly services: PeopleAuthDeps) {
    const { env } = services;
    this.maxAgeSeconds = env.SESSION_MAX_AGE_DAYS * 24 * 3600;
    this.cookie = createCookie(SESSION_COOKIE, {
      secrets: [env.AUTH_SECRET ?? ""],
      httpOnly: true,
      sameSite: "lax",
      secure: env.secureCookies,
      path: "/",
      maxAge: this.maxAgeSeconds,
    });
    this.google = new GoogleSignIn({ env, log: services.log, signIn: (profile, origin) => this.signIn(profile, origin) });
  }

  /** The role an email gets at sign-in: ADMIN_EMAILS members always, promoted users while promoted. */
  roleAtSignIn(email: string, promoted: boolean): Role {
    return this.services.env.ADMIN_EMAILS.includes(email.toLowerCase()) || promoted ? "ADMIN" : "USER";
  }

  /**
   * Creates or updates the user, links the account, starts a session; returns the Set-Cookie value.
   *
   * The upstream account (`provider` + `providerAccountId`, Google's stable `sub`) decides who signs in when it is
   * already linked, so a changed Google address still reaches the same user (whose email follows it unless another
   * user has that address). Otherwise the verified email finds or creates the user. The role is decided here, at
   * every sign-in: ADMIN for ADMIN_EMAILS members and promoted users, USER otherwise.
   */
  async signIn(profile: SignInProfile, origin: RequestOrigin = {}): Promise<{ user: SessionUser; setCookie: string }> {
    let user: User;
    try {
      user = await this.upsertUser(profile);
    } catch (error) {
      // Two first sign-ins of one person at the same moment: the loser of the unique race simply retries.
      if (!isUniqueViolation(error)) throw error;
      user = await this.upsertUser(profile);
    }
    const token = randomSecret(SecretPrefix.session);
    const session = await this.services.prisma.session.create({
      data: {
        sessionTokenHash: sha256Hex(token),
        userId: user.id,
        expires: new Date(Date.now() + this.maxAgeSeconds * 1000),
        ipAddress: origin.ip ?? null,
        userAgent: origin.userAgent?.slice(0, 512) ?? null,
      },
    });
    return {
      user: { id: user.id, email: user.email, name: user.name, image: user.image, role: user.role, sessionId: session.id },
      setCookie: await this.cookie.serialize(token),
    };
  }

  private async upsertUser(profile: SignInProfile): Promise<User> {
    const { prisma } = this.services;
    const email = profile.email.trim().toLowerCase();
    const key = { provider: profile.provider, providerAccountId: profile.providerAccountId };
    return prisma.$transaction(async (tx) => {
      const linked = await tx.account.findUnique({ where: { provider_providerAccountId: key }, include: { user: true } });
      let target = linked?.user ?? (await tx.user.findUnique({ where: { email } }));
      // A linked user whose upstream address changed follows it, unless the new address belongs to someone else.
      const newEmail =
        target && target.email !== email && !(await tx.user.findUnique({ where: { email }, select: { id: true } }))
          ? email
          : (target?.email ?? email);
      const role = this.roleAtSignIn(newEmail, Boolean(target?.promotedAt));
      const details = {
        role,
        lastSignInAt: new Date(),
        ...(profile.name ? { name: profile.name } : {}),
        ...(profile.image ? { image: profile.image } : {}),
      };
      target = target
        ? await tx.user.update({ where: { id: target.id }, data: { ...details, email: newEmail } })
        : await tx.user.create({ data: { email, name: profile.name ?? null, image: profile.image ?? null, ...details } });
      if (!linked) await tx.account.create({ data: { ...key, userId: target.id } });
      return target;
    });
  }

  /** The signed-in user of a request, or null (unsigned, unknown, expired). */
  async getUser(request: Request): Promise<SessionUser | null> {
    const token = await this.cookie.parse(request.headers.get("cookie"));
    if (typeof token !== "string" || !token.startsWith(SecretPrefix.session)) return null;
    const session = await this.services.prisma.session.findUnique({
      where: { sessionTokenHash: sha256Hex(token) },
      include: { user: true },
    });
    if (!session || session.expires <= new Date()) return null;
    const { user } = session;
    return { id: user.id, email: user.email, name: user.name, image: user.image, role: user.role, sessionId: session.id };
  }

  /** The signed-in user, or a redirect to sign-in that comes back to this page. */
  async requireUser(request: Request): Promise<SessionUser> {
    const user = await this.getUser(request);
    if (user) return user;
    const url = new URL(request.url);
    throw redirect(this.loginUrl(url.pathname + url.search));
  }

  /** An admin, or 403 for a signed-in non-admin (anonymous visitors go to sign-in). */
  async requireAdmin(request: Request): Promise<SessionUser> {
    const user = await this.requireUser(request);
    if (user.role !== "ADMIN") throw new Response("Administrators only.", { status: 403 });
    return user;
  }

  /** Ends the request's session; returns the Set-Cookie value that clears the cookie. */
  async signOut(request: Request): Promise<string> {
    const token = await this.cookie.parse(request.headers.get("cookie"));
    if (typeof token === "string") {
      await this.services.prisma.session.deleteMany({ where: { sessionTokenHash: sha256Hex(token) } });
    }
    return this.cookie.serialize("", { maxAge: 0 });
  }

  /** See safeReturnTo (exposed here so routes need no value import from server/). */
  safeReturnTo(value: unknown, fallback = "/"): string {
    return safeReturnTo(value, fallback);
  }

  /**
   * `/login`, coming back to `returnTo` afterwards, optionally explaining why the last attempt failed. A return
   * address too long to keep (or to fit LOGIN_URL_LIMIT) comes back to its path only: a Location header that long
   * is refused by proxies and clients (Node's parser stops at 16 KB, nginx's default buffers at 8 KB).
   */
  loginUrl(returnTo = "/", error?: string): string {
    const build = (target: string) => {
      const params = new URLSearchParams();
      if (error) params.set("error", error);
      if (target !== "/") params.set("returnTo", target);
      const query = params.toString();
      return query ? `/login?${query}` : "/login";
    };
    for (const candidate of [returnTo, returnTo.split("?")[0]!]) {
      const url = build(safeReturnTo(candidate));
      if (candidate.length <= RETURN_TO_MAX_LENGTH && url.length <= LOGIN_URL_LIMIT) return url;
    }
    return build("/");
  }

  /** Deletes expired sessions; run periodically. */
  async deleteExpiredSessions(now = new Date()): Promise<number> {
    const { count } = await this.services.prisma.session.deleteMany({ where: { expires: { lte: now } } });
    return count;
  }
}

/** The longest `/login?…` URL we redirect to (see loginUrl). */
const LOGIN_URL_LIMIT = 6000;

/** Prisma's unique-constraint violation (P2002). */
function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "P2002";
}
