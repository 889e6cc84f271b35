CREATE TABLE "secret_client_hours" (
	"secret_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"ip" text DEFAULT '' NOT NULL,
	"user_agent" text DEFAULT '' NOT NULL,
	"uses" bigint NOT NULL,
	"last_used_at" timestamp with time zone NOT NULL,
	CONSTRAINT "secret_client_hours_pk" PRIMARY KEY("secret_id","hour","ip","user_agent"),
	CONSTRAINT "secret_client_hours_user_agent_len" CHECK (char_length("secret_client_hours"."user_agent") <= 256)
);
--> statement-breakpoint
ALTER TABLE "secrets" ADD COLUMN "cutover_look_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "secret_client_hours" ADD CONSTRAINT "secret_client_hours_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "secret_client_hours_hour_idx" ON "secret_client_hours" USING btree ("hour");--> statement-breakpoint
CREATE INDEX "secrets_cutover_due_idx" ON "secrets" USING btree (coalesce("cutover_look_at", '-infinity'::timestamptz)) WHERE "secrets"."expires_at" is not null and "secrets"."retired_at" is null;