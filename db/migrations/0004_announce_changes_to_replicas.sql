-- Every change to a secret's validity is announced on the channel the verify caches LISTEN on, by the
-- database itself: a rotation from the CLI, a script or a hand-typed UPDATE reaches every replica's
-- cache as surely as one made by a rekey server. Payload: `db|<hash>[,<hash>…]` (see
-- src/store/invalidation-channel.ts); NOTIFY is delivered at commit, and only if the transaction commits.
CREATE OR REPLACE FUNCTION rekey_announce_secret_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_verify_invalidate', 'db|' || NEW.hash);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER secrets_announce_expiry_change AFTER UPDATE OF expires_at ON secrets
  FOR EACH ROW WHEN (OLD.expires_at IS DISTINCT FROM NEW.expires_at)
  EXECUTE FUNCTION rekey_announce_secret_change();
--> statement-breakpoint
-- A deleted key's secrets all stop verifying: announce them in batches of 100 (NOTIFY payloads are
-- limited to 8000 bytes).
CREATE OR REPLACE FUNCTION rekey_announce_key_deleted() RETURNS trigger AS $$
DECLARE
  batch text;
BEGIN
  FOR batch IN
    SELECT string_agg(hash, ',')
    FROM (SELECT hash, (row_number() OVER (ORDER BY id) - 1) / 100 AS chunk FROM secrets WHERE key_id = NEW.id) s
    GROUP BY chunk
  LOOP
    PERFORM pg_notify('rekey_verify_invalidate', 'db|' || batch);
  END LOOP;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER keys_announce_deletion AFTER UPDATE OF deleted_at ON keys
  FOR EACH ROW WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION rekey_announce_key_deleted();
