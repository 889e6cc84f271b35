CREATE TABLE "instances" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"seen_at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL
);
--> statement-breakpoint
-- Claims made before claims belonged to instances name processes this table has never heard of. A finished
-- notice needs no holder; a claim still in hand is given back with its subject due at once, so the first
-- scheduler of this version takes it over (one being sent by an older process at that very moment may go
-- out twice). An older process still running cannot claim any more: its claims would name no instance.
UPDATE secrets SET next_notice_at = NULL
 WHERE retired_at IS NULL
   AND id IN (SELECT secret_id FROM notifications
               WHERE status = 'claimed' AND claimed_at IS NOT NULL AND kind <> 'cutover');
--> statement-breakpoint
UPDATE secrets SET cutover_look_at = NULL
 WHERE id IN (SELECT secret_id FROM notifications
               WHERE status = 'claimed' AND claimed_at IS NOT NULL AND kind = 'cutover');
--> statement-breakpoint
UPDATE keys SET next_policy_notice_at = NULL
 WHERE id IN (SELECT key_id FROM notifications
               WHERE status = 'claimed' AND claimed_at IS NOT NULL AND kind <> 'canary_tried');
--> statement-breakpoint
UPDATE keys SET canary_alarm_at = NULL
 WHERE id IN (SELECT key_id FROM notifications
               WHERE status = 'claimed' AND claimed_at IS NOT NULL AND kind = 'canary_tried');
--> statement-breakpoint
UPDATE notifications SET claimed_by = NULL WHERE claimed_by IS NOT NULL;
--> statement-breakpoint
UPDATE policy_digests SET claimed_by = NULL WHERE claimed_by IS NOT NULL;
--> statement-breakpoint
UPDATE leak_notices SET claimed_by = NULL WHERE claimed_by IS NOT NULL;
--> statement-breakpoint
ALTER TABLE "leak_notices" ADD CONSTRAINT "leak_notices_claimed_by_instances_id_fk" FOREIGN KEY ("claimed_by") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_claimed_by_instances_id_fk" FOREIGN KEY ("claimed_by") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_digests" ADD CONSTRAINT "policy_digests_claimed_by_instances_id_fk" FOREIGN KEY ("claimed_by") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "leak_notices_claimed_by_idx" ON "leak_notices" USING btree ("claimed_by") WHERE "leak_notices"."claimed_by" is not null;--> statement-breakpoint
CREATE INDEX "notifications_claimed_by_idx" ON "notifications" USING btree ("claimed_by") WHERE "notifications"."claimed_by" is not null;--> statement-breakpoint
CREATE INDEX "policy_digests_owed_idx" ON "policy_digests" USING btree ("week") WHERE "policy_digests"."status" = 'claimed' and "policy_digests"."claimed_by" is null;--> statement-breakpoint
CREATE INDEX "policy_digests_claimed_by_idx" ON "policy_digests" USING btree ("claimed_by") WHERE "policy_digests"."claimed_by" is not null;
--> statement-breakpoint
-- A claim its holder let go of unsent is free again: the holder stopped (deleting its instance row sets
-- claimed_by to null, whether it stopped gracefully or the others found it dead) or gave it back while
-- stopping. Its subject was parked while the claim was held, so make it due at once, and wake every
-- scheduler (NOTIFY is delivered on commit) for that notice's source: another replica sends it within
-- seconds, not at its next tick. A claim released after a failed post has claimed_at null too and keeps
-- the retry time the scheduler gave its subject. No clock is read here; null means "due now".
CREATE OR REPLACE FUNCTION rekey_notifications_released_claim_replans() RETURNS trigger AS $$
BEGIN
  IF NEW.secret_id IS NOT NULL AND NEW.kind = 'cutover' THEN
    UPDATE secrets SET cutover_look_at = NULL WHERE id = NEW.secret_id;
    PERFORM pg_notify('rekey_notices', 'cutover');
  ELSIF NEW.secret_id IS NOT NULL THEN
    UPDATE secrets SET next_notice_at = NULL WHERE id = NEW.secret_id AND retired_at IS NULL;
    PERFORM pg_notify('rekey_notices', 'grace');
  ELSIF NEW.kind = 'canary_tried' THEN
    UPDATE keys SET canary_alarm_at = NULL WHERE id = NEW.key_id;
    PERFORM pg_notify('rekey_notices', 'canary');
  ELSE
    UPDATE keys SET next_policy_notice_at = NULL WHERE id = NEW.key_id;
    PERFORM pg_notify('rekey_notices', 'policy');
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER notifications_released_claim_replans AFTER UPDATE OF claimed_by ON notifications
  FOR EACH ROW WHEN (
    OLD.claimed_by IS NOT NULL AND NEW.claimed_by IS NULL
    AND NEW.status = 'claimed' AND NEW.claimed_at IS NOT NULL
  )
  EXECUTE FUNCTION rekey_notifications_released_claim_replans();
--> statement-breakpoint
-- The same for a weekly digest and a leak notice: each is owed as its own row, so waking the schedulers
-- is all it takes.
CREATE OR REPLACE FUNCTION rekey_policy_digests_released_claim_wakes() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_notices', 'digest');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER policy_digests_released_claim_wakes AFTER UPDATE OF claimed_by ON policy_digests
  FOR EACH ROW WHEN (
    OLD.claimed_by IS NOT NULL AND NEW.claimed_by IS NULL
    AND NEW.status = 'claimed' AND NEW.claimed_at IS NOT NULL
  )
  EXECUTE FUNCTION rekey_policy_digests_released_claim_wakes();
--> statement-breakpoint
CREATE OR REPLACE FUNCTION rekey_leak_notices_released_claim_wakes() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_notices', 'leak');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER leak_notices_released_claim_wakes AFTER UPDATE OF claimed_by ON leak_notices
  FOR EACH ROW WHEN (
    OLD.claimed_by IS NOT NULL AND NEW.claimed_by IS NULL
    AND NEW.status = 'claimed' AND NEW.claimed_at IS NOT NULL
  )
  EXECUTE FUNCTION rekey_leak_notices_released_claim_wakes();
