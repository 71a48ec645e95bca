// Load generator for DPoP requests (bench/mcp.ts runs it as a child process, so its signing CPU is not the server's):
// every request needs a fresh proof (RFC 9449: jti single use, iat current), which the autocannon CLI cannot make.
// Proofs are signed before the timed run (one per expected request, with headroom), then handed out one per
// request. Prints autocannon's JSON result, like `autocannon -j`.
//
//   node bench/dpop-load.mjs '<json options: url, htu, token, privateJwk, publicJwk, alg, body, headers, connections, seconds, expectedRps>'
import { createHash, randomUUID } from "node:crypto";
import autocannon from "autocannon";
import { base64url, importJWK, SignJWT } from "jose";

const options = JSON.parse(process.argv[2]);
const key = await importJWK(options.privateJwk, options.alg);
const ath = base64url.encode(createHash("sha256").update(options.token).digest());
const count = Math.ceil(options.expectedRps * options.seconds * 1.5) + 1000;
const iat = Math.floor(Date.now() / 1000);
const proofs = [];
for (let i = 0; i < count; i += 1) {
  proofs.push(
    await new SignJWT({ htm: "POST", htu: options.htu, iat, jti: randomUUID(), ath })
      .setProtectedHeader({ alg: options.alg, typ: "dpop+jwt", jwk: options.publicJwk })
      .sign(key),
  );
}
let next = 0;
const result = await autocannon({
  url: options.url,
  method: "POST",
  body: options.body,
  headers: { ...options.headers, authorization: `DPoP ${options.token}` },
  connections: options.connections,
  duration: options.seconds,
  requests: [
    {
      setupRequest(request) {
        request.headers = { ...request.headers, dpop: proofs[next++ % proofs.length] };
        return request;
      },
    },
  ],
});
process.stdout.write(JSON.stringify({ ...result, proofs: count, used: next }));
