/**
 * Administering the people who sign in to this app: roles and browser sessions.
 *
 * Roles: members of ADMIN_EMAILS are admins whatever the database says (server/auth/people.ts `roleAtSignIn`), so
 * they cannot be demoted here; anyone else is an admin while `User.promotedAt` is set. The role column is changed
 * together with `promotedAt`, and every request reads it afresh, so a change applies at once (no sign-out needed).
 */
import type { Prisma, PrismaClient, Role } from "../db/client.ts";
import { pageArgs, toPage, type Page, type PageInput } from "../db/pagination.ts";
import { DomainError } from "../domain-error.ts";
import { revokeGrantsForUser } from "../oauth/grants.ts";
import { McpScope } from "../oauth/scopes.ts";
import type { Env } from "../env.ts";
import type { DomainEventBus } from "../events.ts";
import { auditAdminAction } from "../audit.ts";

type Deps = { prisma: PrismaClient; env: Env; events: DomainEventBus };

export interface UserRow {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  /** In ADMIN_EMAILS: an admin by configuration, cannot be demoted. */
  configuredAdmin: boolean;
  promotedAt: Date | null;
  createdAt: Date;
  lastSignInAt: Date | null;
  activeSessions: number;
  activeGrants: number;
}

export interface UserFilter {
  search?: string;
  role?: Role;
}

const userRowSelect = (now: Date) =>
  ({
    id: true,
    email: true,
    name: true,
    role: true,
    promotedAt: true,
    createdAt: true,
    lastSignInAt: true,
    _count: {
      select: {
        sessions: { where: { expires: { gt: now } } },
        grants: { where: { revokedAt: null } },
      },
    },
  }) satisfies Prisma.UserSelect;

function toUserRow(
  deps: { env: Env },
  { _count, ...user }: Prisma.UserGetPayload<{ select: ReturnType<typeof userRowSelect> }>,
): UserRow {
  return {
    ...user,
    configuredAdmin: isConfiguredAdmin(deps, user.email),
    activeSessions: _count.sessions,
    activeGrants: _count.grants,
  };
}

/** One user, as listed. */
export async function getUser(deps: Deps, userId: string, now = new Date()): Promise<UserRow> {
  const user = await deps.prisma.user.findUnique({ where: { id: userId }, select: userRowSelect(now) });
  if (!user) throw new DomainError("not_found", "No such user.");
  return toUserRow(deps, user);
}

export async function listUsers(deps: Deps, filter: UserFilter, page: PageInput, now = new Date()): Promise<Page<UserRow>> {
  const where: Prisma.UserWhereInput = {
    ...(filter.role ? { role: filter.role } : {}),
    ...(filter.search
      ? {
          OR: [
            { email: { contains: filter.search, mode: "insensitive" } },
            { name: { contains: filter.search, mode: "insensitive" } },
            { id: filter.search },
          ],
        }
      : {}),
  };
  const [rows, total] = await Promise.all([
    deps.prisma.user.findMany({
      where,
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      ...pageArgs(page),
      select: userRowSelect(now),
    }),
    deps.prisma.user.count({ where }),
  ]);
  const result = toPage(rows, page, total);
  return { ...result, items: result.items.map((row) => toUserRow(deps, row)) };
}

export function isConfiguredAdmin(deps: { env: Env }, email: string): boolean {
  return deps.env.ADMIN_EMAILS.includes(email.toLowerCase());
}

/** Makes a user an admin until demoted. */
export async function promoteUser(deps: Deps, userId: string, byUserId: string): Promise<{ role: Role }> {
  const user = await findUser(deps, userId);
  if (user.role === "ADMIN" && (user.promotedAt || isConfiguredAdmin(deps, user.email))) return { role: "ADMIN" };
  await deps.prisma.user.update({ where: { id: userId }, data: { role: "ADMIN", promotedAt: new Date() } });
  auditAdminAction(deps, { userId: byUserId }, "user.promoted", { targetUserId: userId });
  return { role: "ADMIN" };
}

/** Takes admin rights away from a promoted user. Configured admins and the caller themself are refused. */
export async function demoteUser(deps: Deps, userId: string, byUserId: string): Promise<{ role: Role }> {
  const user = await findUser(deps, userId);
  if (isConfiguredAdmin(deps, user.email)) {
    throw new DomainError("precondition", `${user.email} is listed in ADMIN_EMAILS and stays an admin.`);
  }
  // Nobody locks themself out by accident; another admin can do it.
  if (userId === byUserId) throw new DomainError("precondition", "You cannot demote yourself.");
  if (user.role === "USER" && !user.promotedAt) return { role: "USER" };
  await deps.prisma.user.update({ where: { id: userId }, data: { role: "USER", promotedAt: null } });
  // Tokens granted with the admin scope must not outlive the role (refresh would drop the scope, but an access
  // token already issued would keep it until it expires).
  await revokeGrantsForUser(deps, userId, "user demoted", { scope: McpScope.admin });
  auditAdminAction(deps, { userId: byUserId }, "user.demoted", { targetUserId: userId });
  return { role: "USER" };
}

export interface SessionRow {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expires: Date;
  ipAddress: string | null;
  userAgent: string | null;
}

/** A user's unexpired sessions, newest first. */
export async function listSessions(deps: Deps, userId: string, now = new Date()): Promise<SessionRow[]> {
  await findUser(deps, userId);
  return deps.prisma.session.findMany({
    where: { userId, expires: { gt: now } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: 200,
    select: { id: true, createdAt: true, lastSeenAt: true, expires: true, ipAddress: true, userAgent: true },
  });
}

/** Ends one session of the given user (signs that browser out). */
export async function endSession(deps: Deps, userId: string, sessionId: string, byUserId: string): Promise<{ ended: number }> {
  const { count } = await deps.prisma.session.deleteMany({ where: { id: sessionId, userId } });
  if (count === 0) throw new DomainError("not_found", "No such session.");
  auditAdminAction(deps, { userId: byUserId }, "user.session_ended", { targetUserId: userId });
  return { ended: count };
}

/** Ends every session of a user (signs them out everywhere). */
export async function endAllSessions(deps: Deps, userId: string, byUserId: string): Promise<{ ended: number }> {
  await findUser(deps, userId);
  const { count } = await deps.prisma.session.deleteMany({ where: { userId } });
  auditAdminAction(deps, { userId: byUserId }, "user.sessions_ended", { targetUserId: userId });
  return { ended: count };
}

async function findUser(deps: Deps, userId: string) {
  const user = await deps.prisma.user.findUnique({ where: { id: userId }, select: { id: true, email: true, role: true, promotedAt: true } });
  if (!user) throw new DomainError("not_found", "No such user.");
  return user;
}
