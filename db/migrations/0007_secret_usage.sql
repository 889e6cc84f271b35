CREATE TABLE "secret_last_use" (
	"secret_id" uuid PRIMARY KEY NOT NULL,
	"last_used_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secret_use_hours" (
	"secret_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"uses" bigint NOT NULL,
	"expired_uses" bigint DEFAULT 0 NOT NULL,
	"first_used_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone NOT NULL,
	CONSTRAINT "secret_use_hours_pk" PRIMARY KEY("secret_id","hour")
);
--> statement-breakpoint
ALTER TABLE "secret_last_use" ADD CONSTRAINT "secret_last_use_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "secret_use_hours" ADD CONSTRAINT "secret_use_hours_secret_id_secrets_id_fk" FOREIGN KEY ("secret_id") REFERENCES "public"."secrets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "secret_use_hours_hour_idx" ON "secret_use_hours" USING btree ("hour");