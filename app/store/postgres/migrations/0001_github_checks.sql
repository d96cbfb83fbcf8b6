CREATE TABLE "github_checks" (
	"id" text PRIMARY KEY NOT NULL,
	"installation_id" bigint NOT NULL,
	"owner" text NOT NULL,
	"repo" text NOT NULL,
	"sha" text NOT NULL,
	"name" text NOT NULL,
	"target" text NOT NULL,
	"run_id" text NOT NULL,
	"org_id" text NOT NULL,
	"test_root" text NOT NULL,
	"check_run_id" bigint,
	"sent_status" text,
	"sent_digest" text,
	"annotations_sent" integer DEFAULT 0 NOT NULL,
	"finished" boolean DEFAULT false NOT NULL,
	"next_update_at" bigint NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "github_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"event" text NOT NULL,
	"received_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "github_checks_run_target" ON "github_checks" USING btree ("run_id","target");--> statement-breakpoint
CREATE INDEX "github_checks_due" ON "github_checks" USING btree ("finished","next_update_at");--> statement-breakpoint
CREATE INDEX "github_checks_check_run" ON "github_checks" USING btree ("installation_id","check_run_id");--> statement-breakpoint
CREATE INDEX "github_deliveries_received" ON "github_deliveries" USING btree ("received_at");