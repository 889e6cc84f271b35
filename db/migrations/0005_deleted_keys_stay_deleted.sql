-- Deleting a key is final, like rotation: bringing `deleted_at` back to NULL (or moving it) would
-- revive every secret the key had. The database refuses it whoever asks.
CREATE OR REPLACE FUNCTION rekey_keys_stay_deleted() RETURNS trigger AS $$
BEGIN
  IF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS DISTINCT FROM OLD.deleted_at THEN
    RAISE EXCEPTION 'rekey: a deleted key stays deleted' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER keys_stay_deleted BEFORE UPDATE OF deleted_at ON keys
  FOR EACH ROW EXECUTE FUNCTION rekey_keys_stay_deleted();
