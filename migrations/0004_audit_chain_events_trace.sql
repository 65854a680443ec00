ALTER TABLE "audit_records" ADD COLUMN "record_id" uuid DEFAULT gen_random_uuid() NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "kind" text DEFAULT 'access' NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "event" text;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "resource_id" text;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "trace_id" text;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "prev_hash" text;--> statement-breakpoint
ALTER TABLE "audit_records" ADD COLUMN "hash" text;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_records_record_id_uq" ON "audit_records" USING btree ("record_id");--> statement-breakpoint
CREATE INDEX "audit_records_client_id_idx" ON "audit_records" USING btree ("client_id","id");--> statement-breakpoint
CREATE INDEX "audit_records_occurred_at_idx" ON "audit_records" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "audit_records_request_id_idx" ON "audit_records" USING btree ("request_id");--> statement-breakpoint
CREATE INDEX "audit_records_trace_id_idx" ON "audit_records" USING btree ("trace_id");--> statement-breakpoint
CREATE INDEX "audit_records_event_id_idx" ON "audit_records" USING btree ("event","id") WHERE event is not null;