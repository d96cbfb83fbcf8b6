ALTER TABLE "blobs" ADD COLUMN "files" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "bundle" jsonb;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "build" jsonb;