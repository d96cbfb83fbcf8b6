ALTER TABLE "agents" ADD COLUMN "key_hash" text;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "expires_at" bigint;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "revoked_at" bigint;--> statement-breakpoint
ALTER TABLE "tokens" ADD COLUMN "last_used_at" bigint;