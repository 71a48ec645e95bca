/**
 * What a grant handler is (one per `grant_type`, RFC 6749 §4, §6; registered in token-endpoint.ts): given the
 * authenticated request, it checks the grant and returns the token response (RFC 6749 §5.1), or throws an OAuthError.
 */
import type { EventOrigin } from "../../events.ts";
import type { ClientRecord } from "../clients.ts";
import type { OAuthDeps } from "../deps.ts";
import type { Params } from "../request-params.ts";
import type { TokenResponse } from "../tokens.ts";

export interface TokenRequestContext {
  params: Params;
  client: ClientRecord;
  /** Mutable: handlers add the user once they know it. */
  origin: EventOrigin;
  now: Date;
  /** The thumbprint of the key the request's DPoP proof was signed with (the tokens get bound to it), or null. */
  dpopJkt: string | null;
}

export type GrantHandler = (deps: OAuthDeps, context: TokenRequestContext) => Promise<TokenResponse>;
