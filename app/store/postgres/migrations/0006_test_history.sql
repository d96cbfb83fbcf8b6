CREATE TABLE "test_history" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"repo" text NOT NULL,
	"test_path" text NOT NULL,
	"target" text NOT NULL,
	"runs" integer NOT NULL,
	"passed" integer NOT NULL,
	"failed" integer NOT NULL,
	"flaky" integer NOT NULL,
	"errors" integer NOT NULL,
	"recent" text NOT NULL,
	"durations" jsonb NOT NULL,
	"flake_rate" double precision NOT NULL,
	"failure_rate" double precision NOT NULL,
	"p50_ms" bigint NOT NULL,
	"p95_ms" bigint NOT NULL,
	"duration_change_ms" bigint NOT NULL,
	"first_seen_at" bigint NOT NULL,
	"last_run_at" bigint NOT NULL,
	"last_passed_at" bigint,
	"last_failed_at" bigint,
	"recent_runs" jsonb NOT NULL,
	"last_failures" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "test_quarantines" (
	"org_id" text NOT NULL,
	"test_path" text NOT NULL,
	"reason" text NOT NULL,
	"owner" text,
	"automatic" boolean NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "test_quarantines_org_id_test_path_pk" PRIMARY KEY("org_id","test_path")
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "quarantined_until" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "test_history_test" ON "test_history" USING btree ("org_id","repo","test_path","target");--> statement-breakpoint
CREATE INDEX "test_history_flake" ON "test_history" USING btree ("org_id","flake_rate","id");--> statement-breakpoint
CREATE INDEX "test_history_failure" ON "test_history" USING btree ("org_id","failure_rate","id");--> statement-breakpoint
CREATE INDEX "test_history_p95" ON "test_history" USING btree ("org_id","p95_ms","id");--> statement-breakpoint
CREATE INDEX "test_history_change" ON "test_history" USING btree ("org_id","duration_change_ms","id");