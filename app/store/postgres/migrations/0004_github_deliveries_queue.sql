ALTER TABLE "github_checks" ADD COLUMN "error" text;--> statement-breakpoint
ALTER TABLE "github_deliveries" ADD COLUMN "payload" text;--> statement-breakpoint
ALTER TABLE "github_deliveries" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "github_deliveries" ADD COLUMN "next_attempt_at" bigint;--> statement-breakpoint
ALTER TABLE "github_deliveries" ADD COLUMN "processed_at" bigint;--> statement-breakpoint
ALTER TABLE "github_deliveries" ADD COLUMN "error" text;--> statement-breakpoint
CREATE INDEX "github_deliveries_due" ON "github_deliveries" USING btree ("processed_at","next_attempt_at");