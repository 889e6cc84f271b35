CREATE TABLE "leak_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"secret_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"found_by" text NOT NULL,
	"channel" text,
	"message_ts" text,
	"posted_by" text,
	"url" text,
	"live" boolean NOT NULL,
	"reported_at" timestamp with time zone NOT NULL,
	CONSTRAINT "leak_reports_one_place" CHECK (("leak_reports"."channel" is not null and "leak_reports"."message_ts" is not null and "leak_reports"."url" is null) or ("leak_reports"."channel" is null and "leak_reports"."message_ts" is null and "leak_reports"."url" is not null))
);
--> statement-breakpoint
ALTER TABLE "leak_reports" ADD CONSTRAINT "leak_reports_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leak_reports" ADD CONSTRAINT "leak_reports_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "leak_reports_message_uq" ON "leak_reports" USING btree ("secret_id","channel","message_ts") WHERE "leak_reports"."message_ts" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "leak_reports_url_uq" ON "leak_reports" USING btree ("secret_id","url") WHERE "leak_reports"."url" is not null;--> statement-breakpoint
CREATE INDEX "leak_reports_key_idx" ON "leak_reports" USING btree ("key_id","reported_at");