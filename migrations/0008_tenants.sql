CREATE TABLE "tenants" (
	"key" text PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- Tenants of the users already provisioned before this table existed.
INSERT INTO "tenants" ("key") SELECT DISTINCT "tenant" FROM "users" ON CONFLICT DO NOTHING;
