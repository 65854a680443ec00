ALTER TABLE "audit_records" ADD COLUMN "actors" jsonb;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "dpop_bound" boolean;--> statement-breakpoint
CREATE INDEX "audit_records_actors_idx" ON "audit_records" USING gin ("actors" jsonb_path_ops);