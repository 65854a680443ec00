CREATE TABLE "deactivated_principals" (
	"tenant" text NOT NULL,
	"subject" text NOT NULL,
	"deactivated_by" text NOT NULL,
	"deactivated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "deactivated_principals_tenant_subject_pk" PRIMARY KEY("tenant","subject")
);
--> statement-breakpoint
CREATE TABLE "role_bindings" (
	"tenant" text NOT NULL,
	"subject" text NOT NULL,
	"role" text NOT NULL,
	"granted_by" text NOT NULL,
	"granted_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "role_bindings_tenant_subject_role_pk" PRIMARY KEY("tenant","subject","role")
);
