/**
 * Who is signed in to this app (SessionUser), what a sign-in method hands over about a person (SignInProfile), and
 * where a sign-in came from (RequestOrigin): shared by the session store (people.ts) and the sign-in methods
 * (google.ts), and read by tRPC and the authorization endpoint.
 */
import type { Role } from "../db/client.ts";

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
  image: string | null;
  role: Role;
  sessionId: string;
}

export interface SignInProfile {
  email: string;
  name?: string | null;
  image?: string | null;
  /** `google` or `dev`. */
  provider: string;
  providerAccountId: string;
}

export interface RequestOrigin {
  ip?: string | null;
  userAgent?: string | null;
}
