/**
 * DPoP as this server applies it, for the token endpoint and the MCP endpoints alike: the proof checks of dpop.ts,
 * the server nonce where DPOP_NONCE asks for one (RFC 9449 §8 at the token endpoint, §9 at resources), and single
 * use of each proof (`jti`, RFC 9449 §11.1) across nodes (replay-cache.ts), spent only after the proof verified so a
 * forged proof cannot burn someone else's `jti`. The `jti` is scoped to the key that signed it.
 */
import type { Env } from "../env.ts";
import { DPOP_IAT_WINDOW, DpopError, verifyDpopProof, type VerifiedProof } from "./dpop.ts";
import { DpopNonces } from "./dpop-nonce.ts";
import type { ReplayCache } from "./replay-cache.ts";

export type DpopPlace = "token" | "resource";

export interface DpopVerifierDeps {
  env: Pick<Env, "AUTH_SECRET" | "DPOP_NONCE">;
  replay: ReplayCache;
}

export class DpopVerifier {
  readonly nonces: DpopNonces;

  constructor(private readonly deps: DpopVerifierDeps) {
    this.nonces = new DpopNonces(deps.env.AUTH_SECRET ?? "");
  }

  /** Whether proofs at `place` need a server nonce. */
  needsNonce(place: DpopPlace): boolean {
    const { DPOP_NONCE } = this.deps.env;
    return DPOP_NONCE === "all" || (DPOP_NONCE === "token" && place === "token");
  }

  /** The `DPoP-Nonce` header to send with an answer (RFC 9449 §8.2): the current nonce where nonces are used. */
  nonceHeader(place: DpopPlace): Record<string, string> {
    return this.needsNonce(place) ? { "DPoP-Nonce": this.nonces.current() } : {};
  }

  /** Checks a request's proof and spends its `jti`; throws DpopError. */
  async verify(place: DpopPlace, request: { headers: readonly string[]; method: string; url: string; accessToken?: string }): Promise<VerifiedProof> {
    const proof = await verifyDpopProof({
      ...request,
      ...(this.needsNonce(place) ? { nonceValid: (nonce: string) => this.nonces.isValid(nonce) } : {}),
    });
    const until = (proof.iat + DPOP_IAT_WINDOW.pastSeconds + DPOP_IAT_WINDOW.futureSeconds) * 1000;
    if (!(await this.deps.replay.firstUse("dpop", `${proof.jkt}:${proof.jti}`, until))) {
      throw new DpopError("invalid_dpop_proof", "the DPoP proof was used before (jti)", "jti_replay");
    }
    return proof;
  }
}
