CREATE TABLE "canary_tries" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key_id" uuid NOT NULL,
	"tried_at" timestamp with time zone NOT NULL,
	"via" text NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"client_ip" text,
	"user_agent" text,
	"uri" text,
	"method" text,
	"asked_by" text,
	"place" jsonb,
	"dedupe_key" text,
	"alarm_id" uuid,
	CONSTRAINT "canary_tries_count_positive" CHECK ("canary_tries"."count" >= 1)
);
--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "canary" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "canary_alarm_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "canary_tries" ADD CONSTRAINT "canary_tries_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "canary_tries" ADD CONSTRAINT "canary_tries_alarm_id_notifications_id_fk" FOREIGN KEY ("alarm_id") REFERENCES "public"."notifications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "canary_tries_dedupe_uq" ON "canary_tries" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "canary_tries_untold_idx" ON "canary_tries" USING btree ("key_id") WHERE "canary_tries"."alarm_id" is null;--> statement-breakpoint
CREATE INDEX "canary_tries_alarm_idx" ON "canary_tries" USING btree ("alarm_id");--> statement-breakpoint
CREATE INDEX "canary_tries_key_time_idx" ON "canary_tries" USING btree ("key_id","tried_at");--> statement-breakpoint
CREATE INDEX "keys_canary_alarm_due_idx" ON "keys" USING btree ("canary_alarm_at") WHERE "keys"."canary_alarm_at" is not null;--> statement-breakpoint
ALTER TABLE "keys" ADD CONSTRAINT "keys_canary_has_no_rotation_policy" CHECK (not ("keys"."canary" and "keys"."rotate_every_days" is not null));--> statement-breakpoint
-- A canary stays a canary and a working key never becomes one, whoever asks: flipping the flag would
-- either make a planted decoy (whose string an intruder may hold) a valid key, or silence a key's
-- alarms and make its clients' keys look unknown.
CREATE OR REPLACE FUNCTION rekey_keys_canary_fixed() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'rekey: a canary key stays a canary, and a working key never becomes one'
    USING ERRCODE = 'check_violation';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER keys_canary_fixed BEFORE UPDATE OF canary ON keys
  FOR EACH ROW WHEN (OLD.canary IS DISTINCT FROM NEW.canary)
  EXECUTE FUNCTION rekey_keys_canary_fixed();
--> statement-breakpoint
-- A canary has exactly the one secret it was created with, and it never expires: no rotation (a second
-- secret), no end of grace, no expiry set by hand. Its string stays planted and keeps raising alarms.
CREATE OR REPLACE FUNCTION rekey_secrets_canary_never_rotated() RETURNS trigger AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM keys WHERE id = NEW.key_id AND canary) THEN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM secrets WHERE key_id = NEW.key_id) THEN
      RAISE EXCEPTION 'rekey: a canary key is never rotated' USING ERRCODE = 'check_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.expires_at IS DISTINCT FROM OLD.expires_at THEN
      RAISE EXCEPTION 'rekey: a canary key''s secret never expires' USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER secrets_canary_never_rotated BEFORE INSERT OR UPDATE OF expires_at ON secrets
  FOR EACH ROW EXECUTE FUNCTION rekey_secrets_canary_never_rotated();
--> statement-breakpoint
-- Every replica keeps the canaries' hashes in memory (src/services/canary-watch.ts): a new canary is
-- announced on the verify invalidation channel (`db|canaries`, delivered at commit, when its secret is
-- there too) and each replica reloads the few canaries. A deleted canary is already announced by key
-- (`db|key:<id>`, migration 0006).
CREATE OR REPLACE FUNCTION rekey_announce_canary_created() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_verify_invalidate', 'db|canaries');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER keys_announce_canary_created AFTER INSERT ON keys
  FOR EACH ROW WHEN (NEW.canary)
  EXECUTE FUNCTION rekey_announce_canary_created();
--> statement-breakpoint
-- A canary tried on any replica wakes the alarm delivery at once (the notice source `canary`, which
-- every scheduler LISTENs for on rekey_notices), whoever wrote the try: a verify replica's flush or a
-- leak report.
CREATE OR REPLACE FUNCTION rekey_announce_canary_tried() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_notices', 'canary');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER canary_tries_announce AFTER INSERT ON canary_tries
  FOR EACH STATEMENT EXECUTE FUNCTION rekey_announce_canary_tried();
