-- Connection doctor (issue 17): a client's anonymous steps (discovery documents, a 401 without a token, sign-in)
-- and the refusals recorded before it was known are found by the address they came from, over a short window.
CREATE INDEX IF NOT EXISTS "AnalyticsRequest_ipAddress_timestamp_idx" ON "AnalyticsRequest"("ipAddress", "timestamp");
CREATE INDEX IF NOT EXISTS "AnalyticsSecurity_ipAddress_timestamp_idx" ON "AnalyticsSecurity"("ipAddress", "timestamp");
