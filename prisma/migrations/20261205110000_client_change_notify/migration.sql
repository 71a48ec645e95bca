-- Every node keeps Client rows in memory for client authentication (server/oauth/client-cache.ts) and LISTENs on
-- oauth_client_changed: a change to a row (other than its last-use columns, which every token request may touch) or
-- its deletion names the client_id; a TRUNCATE names '*'. NOTIFY is delivered when the transaction commits.

CREATE FUNCTION oauth_client_changed() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('oauth_client_changed', '*');
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('oauth_client_changed', OLD."clientId");
  ELSE
    PERFORM pg_notify('oauth_client_changed', OLD."clientId");
    IF NEW."clientId" IS DISTINCT FROM OLD."clientId" THEN
      PERFORM pg_notify('oauth_client_changed', NEW."clientId");
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;

CREATE TRIGGER "Client_changed" AFTER UPDATE ON "Client"
  FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'lastUsedAt' - 'firstTokenAt') IS DISTINCT FROM (to_jsonb(NEW) - 'lastUsedAt' - 'firstTokenAt'))
  EXECUTE FUNCTION oauth_client_changed();
CREATE TRIGGER "Client_deleted" AFTER DELETE ON "Client"
  FOR EACH ROW EXECUTE FUNCTION oauth_client_changed();
CREATE TRIGGER "Client_truncated" AFTER TRUNCATE ON "Client"
  FOR EACH STATEMENT EXECUTE FUNCTION oauth_client_changed();
