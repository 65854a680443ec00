CREATE TABLE "service_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant" text NOT NULL,
	"client_id" text NOT NULL,
	"name" text NOT NULL,
	"scopes" text[] NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"key" text PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "analytics_events" ADD COLUMN "user_id" text;--> statement-breakpoint
CREATE UNIQUE INDEX "service_accounts_tenant_client_id_uq" ON "service_accounts" USING btree ("tenant","client_id");--> statement-breakpoint
CREATE INDEX "service_accounts_tenant_created_idx" ON "service_accounts" USING btree ("tenant","created_at","id");--> statement-breakpoint
-- Tenants of the users already provisioned before this table existed.
INSERT INTO "tenants" ("key") SELECT DISTINCT "tenant" FROM "users" ON CONFLICT DO NOTHING;
