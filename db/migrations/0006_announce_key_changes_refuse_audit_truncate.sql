-- A key's name, products and deletion are part of every cached verdict of every one of its secrets:
-- announce such a change by key id (`db|key:<id>`, see src/store/invalidation-channel.ts) so each
-- replica drops all the cached secrets of that key at commit, as it does for expiry changes.
CREATE OR REPLACE FUNCTION rekey_announce_key_change() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_verify_invalidate', 'db|key:' || NEW.id);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER keys_announce_change AFTER UPDATE OF name, products, deleted_at ON keys
  FOR EACH ROW WHEN (
    OLD.name IS DISTINCT FROM NEW.name
    OR OLD.products IS DISTINCT FROM NEW.products
    OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
  )
  EXECUTE FUNCTION rekey_announce_key_change();
--> statement-breakpoint
-- The audit trail is append-only: TRUNCATE skips row triggers, so it gets a statement trigger of its own.
CREATE OR REPLACE FUNCTION rekey_audit_never_truncated() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'rekey: audit events are append-only; TRUNCATE is refused' USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_events_never_truncated BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION rekey_audit_never_truncated();
