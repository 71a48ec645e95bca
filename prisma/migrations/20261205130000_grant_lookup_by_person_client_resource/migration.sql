-- Redeeming a code finds the person's newest live grant to the code's client for the code's resource (incremental
-- consent widens it: server/oauth/grant-types/authorization-code.ts, FIND_CODE). No index led with those columns, so
-- PostgreSQL read it through "Grant_clientId_revokedAt_idx": every live grant of the client, for every redemption.
-- A client many people use (a CIMD client such as an MCP host's) made each code redemption cost more with every
-- person who had ever connected it: bench/token.ts showed PostgreSQL's CPU per redemption growing by ~450 µs with
-- each 5,000 grants (issue 14). This index answers the lookup from the person's own grants, newest first; it leads
-- with "userId", so it also serves what the (userId, revokedAt) index did (a person's live grants: sign-out
-- everywhere, connected apps, demotion), which is dropped rather than kept as a second index to maintain per grant.
DROP INDEX "Grant_userId_revokedAt_idx";
CREATE INDEX "Grant_userId_clientId_resource_createdAt_idx" ON "Grant"("userId", "clientId", "resource", "createdAt");
