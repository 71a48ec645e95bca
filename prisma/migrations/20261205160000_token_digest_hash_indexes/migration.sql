-- Access and refresh tokens are found by their digest, by equality only (never a range, never an ORDER BY), which is
-- what a hash index is for (PostgreSQL documentation §11.2; crash-safe and replicated since PostgreSQL 10). A btree
-- entry holds the whole 64-character hex digest: at 1 M live grants (2 M tokens) each btree is 238 MB, the hash
-- index 73 MB. The digests are random, so every issued token writes to a random page of that index; once two such
-- btrees outgrow shared_buffers, each write reads and dirties a page that is not in memory, and PostgreSQL's CPU per
-- token grows with the number of live tokens (bench/token.ts with BENCH_LIVE_GRANTS, issue 18). Measured in
-- isolation, 100,000 inserts into a 2 M-row table after a checkpoint: 21.5 µs each with the btree, 10 µs with the
-- hash index.
--
-- A hash index cannot be UNIQUE. Uniqueness was never what kept tokens apart: each token carries 256 fresh random
-- bits (server/crypto.ts randomSecret), and no code path relies on a duplicate digest being refused.
CREATE INDEX "AccessToken_tokenHash_idx" ON "AccessToken" USING HASH ("tokenHash");
DROP INDEX "AccessToken_tokenHash_key";
CREATE INDEX "RefreshToken_tokenHash_idx" ON "RefreshToken" USING HASH ("tokenHash");
DROP INDEX "RefreshToken_tokenHash_key";
