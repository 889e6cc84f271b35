-- Irreversibility (DESIGN §3 rule 3), enforced by the database itself: once a secret has an expiry it
-- can only move earlier. Nothing — not the app, not a hand-typed UPDATE — can reinstate an old key.
-- The hash and owner of a secret never change either.
CREATE OR REPLACE FUNCTION rekey_secrets_never_reinstated() RETURNS trigger AS $$
BEGIN
  IF NEW.hash IS DISTINCT FROM OLD.hash OR NEW.key_id IS DISTINCT FROM OLD.key_id THEN
    RAISE EXCEPTION 'rekey: a secret''s hash and key cannot change' USING ERRCODE = 'check_violation';
  END IF;
  IF OLD.expires_at IS NOT NULL AND (NEW.expires_at IS NULL OR NEW.expires_at > OLD.expires_at) THEN
    RAISE EXCEPTION 'rekey: an expiry can only move earlier; rotation cannot be undone'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER secrets_never_reinstated BEFORE UPDATE ON secrets
  FOR EACH ROW EXECUTE FUNCTION rekey_secrets_never_reinstated();
--> statement-breakpoint
-- Secrets are history: deleting one would lose the record of which key string existed when.
CREATE OR REPLACE FUNCTION rekey_refuse_delete() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'rekey: rows of % are never deleted', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER secrets_never_deleted BEFORE DELETE ON secrets
  FOR EACH ROW EXECUTE FUNCTION rekey_refuse_delete();
--> statement-breakpoint
-- The audit trail is append-only.
CREATE OR REPLACE FUNCTION rekey_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'rekey: audit events are append-only' USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION rekey_audit_append_only();
