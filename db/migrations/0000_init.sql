CREATE TABLE "audit_events" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "audit_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"key_id" uuid NOT NULL,
	"action" text NOT NULL,
	"actor" text NOT NULL,
	"source" text NOT NULL,
	"delay" text,
	"old_secret_id" uuid,
	"new_secret_id" uuid,
	"request_id" text,
	"details" jsonb,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"products" text[] DEFAULT '{}'::text[] NOT NULL,
	"maintainers" text[] DEFAULT '{}'::text[] NOT NULL,
	"alert_channel" text,
	"created_at" timestamp with time zone NOT NULL,
	"last_rotated_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notifications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"secret_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"claimed_at" timestamp with time zone,
	"claimed_by" text,
	"sent_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key_id" uuid NOT NULL,
	"hash" text NOT NULL,
	"display" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_old_secret_id_secrets_id_fk" FOREIGN KEY ("old_secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_new_secret_id_secrets_id_fk" FOREIGN KEY ("new_secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "secrets" ADD CONSTRAINT "secrets_key_id_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_request_id_uq" ON "audit_events" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "audit_events_key_seq_idx" ON "audit_events" USING btree ("key_id","seq");--> statement-breakpoint
CREATE INDEX "audit_events_old_secret_idx" ON "audit_events" USING btree ("old_secret_id");--> statement-breakpoint
CREATE UNIQUE INDEX "keys_live_name_uq" ON "keys" USING btree ("name") WHERE "keys"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "notifications_secret_kind_uq" ON "notifications" USING btree ("secret_id","kind");--> statement-breakpoint
CREATE UNIQUE INDEX "secrets_hash_uq" ON "secrets" USING btree ("hash");--> statement-breakpoint
CREATE UNIQUE INDEX "secrets_one_current_per_key_uq" ON "secrets" USING btree ("key_id") WHERE "secrets"."expires_at" is null;--> statement-breakpoint
CREATE INDEX "secrets_in_grace_idx" ON "secrets" USING btree ("expires_at") WHERE "secrets"."expires_at" is not null and "secrets"."retired_at" is null;--> statement-breakpoint
CREATE INDEX "secrets_key_idx" ON "secrets" USING btree ("key_id");