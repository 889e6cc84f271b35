CREATE TABLE "policy_digests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"channel" text NOT NULL,
	"week" date NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 1 NOT NULL,
	"claimed_at" timestamp with time zone,
	"claimed_by" text,
	"retry_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "notifications" ALTER COLUMN "secret_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "next_policy_notice_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "policy_notices_done_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "key_id" uuid;--> statement-breakpoint
ALTER TABLE "notifications" ADD COLUMN "due_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "policy_digests_channel_week_uq" ON "policy_digests" USING btree ("channel","week");--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "keys_policy_notice_due_idx" ON "keys" USING btree (coalesce("next_policy_notice_at", '-infinity'::timestamptz)) WHERE "keys"."rotate_every_days" is not null and "keys"."deleted_at" is null and "keys"."policy_notices_done_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_key_due_kind_uq" ON "notifications" USING btree ("key_id","due_at","kind");--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_about_a_secret_or_a_due_date" CHECK (("notifications"."secret_id" is null) <> ("notifications"."key_id" is null) and ("notifications"."key_id" is null) = ("notifications"."due_at" is null));--> statement-breakpoint
-- A key's policy notices are planned from its rotation due date (last rotation, or creation, plus the
-- policy). When that date moves — a rotation, a new policy — the plan is stale: forget it, so the next
-- tick looks at the key at once, re-plans from the new date and cancels what was still pending for the
-- old one. No clock is read here; null means "due now".
CREATE OR REPLACE FUNCTION rekey_keys_replan_policy_notices() RETURNS trigger AS $$
BEGIN
  IF NEW.last_rotated_at IS DISTINCT FROM OLD.last_rotated_at
     OR NEW.rotate_every_days IS DISTINCT FROM OLD.rotate_every_days THEN
    NEW.next_policy_notice_at := NULL;
    NEW.policy_notices_done_at := NULL;
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER keys_replan_policy_notices BEFORE UPDATE OF last_rotated_at, rotate_every_days ON keys
  FOR EACH ROW EXECUTE FUNCTION rekey_keys_replan_policy_notices();
