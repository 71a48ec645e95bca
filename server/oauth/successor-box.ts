/**
 * The refresh-token reuse grace window (REFRESH_TOKEN_REUSE_GRACE_SECONDS): when a client retries a refresh it
 * already made (a lost response, two tabs racing), it gets the SAME successor instead of tripping reuse detection.
 *
 * The successor's token response is kept on the old token's row, sealed with AES-256-GCM under a key derived
 * (HKDF-SHA256, RFC 5869) from the OLD refresh token's value, which is never stored. Only whoever presents the old
 * token can open it; a database reader learns nothing. The box is deleted once the window is over.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const INFO = Buffer.from("mcp-oauth-server refresh successor v1");
const VERSION = "v1";

function keyFor(oldRefreshToken: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(oldRefreshToken, "utf8"), Buffer.alloc(0), INFO, 32));
}

/** Seals a JSON value under the old token. Output: `v1.<iv>.<ciphertext>.<tag>` (base64url). */
export function sealSuccessor(oldRefreshToken: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(oldRefreshToken), iv);
  cipher.setAAD(INFO);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return [VERSION, iv.toString("base64url"), ciphertext.toString("base64url"), cipher.getAuthTag().toString("base64url")].join(".");
}

/** Opens a box with the old token; null if it is not the right token or the box was tampered with. */
export function openSuccessor<T = unknown>(oldRefreshToken: string, box: string): T | null {
  const [version, iv, ciphertext, tag] = box.split(".");
  if (version !== VERSION || !iv || !ciphertext || !tag) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", keyFor(oldRefreshToken), Buffer.from(iv, "base64url"));
    decipher.setAAD(INFO);
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]);
    return JSON.parse(plain.toString("utf8")) as T;
  } catch {
    return null;
  }
}
