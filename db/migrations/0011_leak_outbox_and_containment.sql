CREATE TABLE "leak_notices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"report_id" uuid NOT NULL,
	"latest_report_id" uuid NOT NULL,
	"secret_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"recipient" text NOT NULL,
	"thread_ts" text,
	"round" integer DEFAULT 1 NOT NULL,
	"reports" integer DEFAULT 1 NOT NULL,
	"reporters" text[] DEFAULT '{}'::text[] NOT NULL,
	"due_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"claimed_by" text,
	"claimed_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "leak_notices_kind" CHECK ("leak_notices"."kind" in ('thread', 'dm', 'channel')),
	CONSTRAINT "leak_notices_thread_ts" CHECK (("leak_notices"."kind" = 'thread') = ("leak_notices"."thread_ts" is not null))
);
--> statement-breakpoint
ALTER TABLE "keys" ADD COLUMN "on_leak" text DEFAULT 'notify' NOT NULL;--> statement-breakpoint
ALTER TABLE "leak_reports" ADD COLUMN "action" text;--> statement-breakpoint
ALTER TABLE "leak_notices" ADD CONSTRAINT "leak_notices_report_id_leak_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."leak_reports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leak_notices" ADD CONSTRAINT "leak_notices_latest_report_id_leak_reports_id_fk" FOREIGN KEY ("latest_report_id") REFERENCES "public"."leak_reports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leak_notices" ADD CONSTRAINT "leak_notices_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leak_notices" ADD CONSTRAINT "leak_notices_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "leak_notices_thread_uq" ON "leak_notices" USING btree ("report_id") WHERE "leak_notices"."kind" = 'thread';--> statement-breakpoint
CREATE UNIQUE INDEX "leak_notices_open_uq" ON "leak_notices" USING btree ("secret_id","recipient") WHERE "leak_notices"."kind" <> 'thread' and "leak_notices"."status" = 'open';--> statement-breakpoint
CREATE INDEX "leak_notices_due_idx" ON "leak_notices" USING btree ("due_at") WHERE "leak_notices"."status" <> 'sent';--> statement-breakpoint
CREATE INDEX "leak_notices_secret_recipient_idx" ON "leak_notices" USING btree ("secret_id","recipient","due_at");--> statement-breakpoint
CREATE UNIQUE INDEX "leak_reports_one_action_per_secret_uq" ON "leak_reports" USING btree ("secret_id") WHERE "leak_reports"."action" is not null;--> statement-breakpoint
ALTER TABLE "keys" ADD CONSTRAINT "keys_on_leak_known" CHECK ("keys"."on_leak" in ('notify', 'rotate-1h', 'rotate-now'));