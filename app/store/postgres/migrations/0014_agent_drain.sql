ALTER TABLE "agents" ADD COLUMN "drained_at" bigint;--> statement-breakpoint
ALTER TABLE "agents" ADD COLUMN "recent_errors" jsonb DEFAULT '[]'::jsonb NOT NULL;