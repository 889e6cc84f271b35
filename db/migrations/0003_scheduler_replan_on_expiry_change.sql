-- The scheduler plans each old secret's next look (`next_notice_at`) from its expiry. If the expiry moves
-- (end grace), that plan is stale and could sit past the new expiry: forget it, so the next tick looks at
-- the secret at once and re-plans from the new expiry. No clock is read here; null means "due now".
CREATE OR REPLACE FUNCTION rekey_secrets_replan_on_expiry_change() RETURNS trigger AS $$
BEGIN
  IF NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
    NEW.next_notice_at := NULL;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER secrets_replan_on_expiry_change BEFORE UPDATE OF expires_at ON secrets
  FOR EACH ROW EXECUTE FUNCTION rekey_secrets_replan_on_expiry_change();
