-- A canary's alarm_at is null when nothing is owed (unlike the other subjects, where null means "due
-- now"), so the release trigger's "make it due at once" set it to null and a released canary alarm was
-- never sent. It now makes the canary due at the released alarm's own due time (always in the past: an
-- alarm is claimed once it is due). No clock is read here.
CREATE OR REPLACE FUNCTION rekey_notifications_released_claim_replans() RETURNS trigger AS $$
BEGIN
  IF NEW.secret_id IS NOT NULL AND NEW.kind = 'cutover' THEN
    UPDATE secrets SET cutover_look_at = NULL WHERE id = NEW.secret_id;
    PERFORM pg_notify('rekey_notices', 'cutover');
  ELSIF NEW.secret_id IS NOT NULL THEN
    UPDATE secrets SET next_notice_at = NULL WHERE id = NEW.secret_id AND retired_at IS NULL;
    PERFORM pg_notify('rekey_notices', 'grace');
  ELSIF NEW.kind = 'canary_tried' THEN
    UPDATE keys SET canary_alarm_at = LEAST(COALESCE(canary_alarm_at, NEW.due_at), NEW.due_at)
     WHERE id = NEW.key_id;
    PERFORM pg_notify('rekey_notices', 'canary');
  ELSE
    UPDATE keys SET next_policy_notice_at = NULL WHERE id = NEW.key_id;
    PERFORM pg_notify('rekey_notices', 'policy');
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
-- Canary alarms already released unsent under the old trigger: due again now.
UPDATE keys k SET canary_alarm_at = n.due_at
  FROM notifications n
 WHERE n.key_id = k.id AND n.kind = 'canary_tried' AND n.status = 'claimed'
   AND n.claimed_by IS NULL AND n.claimed_at IS NOT NULL AND k.canary_alarm_at IS NULL;
