CREATE TABLE "audit_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"request_id" text NOT NULL,
	"decision" text,
	"reason" text,
	"error_reason" text,
	"subject" text,
	"principal_type" text,
	"client_id" text,
	"tenant" text,
	"issuer" text,
	"app" text,
	"method" text NOT NULL,
	"route" text,
	"path" text NOT NULL,
	"required_permissions" text[] NOT NULL,
	"status" integer NOT NULL,
	"duration_ms" double precision NOT NULL,
	"client_ip" text,
	"details" jsonb
);
--> statement-breakpoint
CREATE TABLE "analytics_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"name" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"properties" jsonb NOT NULL,
	"subject" text NOT NULL,
	"client_id" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_invoice_lines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"invoice_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"description" text NOT NULL,
	"quantity" integer NOT NULL,
	"unit_amount_minor" bigint NOT NULL,
	"amount_minor" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "billing_invoices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant" text NOT NULL,
	"customer" text NOT NULL,
	"currency" text NOT NULL,
	"total_minor" bigint NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant" text NOT NULL,
	"issuer" text NOT NULL,
	"subject" text NOT NULL,
	"type" text NOT NULL,
	"email" text,
	"name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "billing_invoice_lines" ADD CONSTRAINT "billing_invoice_lines_invoice_id_billing_invoices_id_fk" FOREIGN KEY ("invoice_id") REFERENCES "public"."billing_invoices"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_records_tenant_id_idx" ON "audit_records" USING btree ("tenant","id");--> statement-breakpoint
CREATE INDEX "audit_records_subject_id_idx" ON "audit_records" USING btree ("subject","id");--> statement-breakpoint
CREATE INDEX "audit_records_decision_id_idx" ON "audit_records" USING btree ("decision","id");--> statement-breakpoint
CREATE INDEX "analytics_events_tenant_name_time_idx" ON "analytics_events" USING btree ("tenant","name","occurred_at");--> statement-breakpoint
CREATE INDEX "billing_invoices_tenant_created_idx" ON "billing_invoices" USING btree ("tenant","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_tenant_issuer_subject_uq" ON "users" USING btree ("tenant","issuer","subject");