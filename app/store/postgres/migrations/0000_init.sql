CREATE TABLE "agents" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text,
	"name" text NOT NULL,
	"target" text NOT NULL,
	"device" text,
	"labels" jsonb NOT NULL,
	"installed" jsonb NOT NULL,
	"registered_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_attempts" (
	"job_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"lease_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"status" text NOT NULL,
	"started_at" bigint,
	"finished_at" bigint,
	"duration_ms" integer,
	"result" jsonb,
	CONSTRAINT "job_attempts_job_id_attempt_pk" PRIMARY KEY("job_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"org_id" text NOT NULL,
	"app_version_id" text NOT NULL,
	"target" text NOT NULL,
	"device" text,
	"repo" text,
	"test_path" text NOT NULL,
	"tags" jsonb NOT NULL,
	"priority" integer NOT NULL,
	"status" text NOT NULL,
	"flaky" boolean DEFAULT false NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"retries" integer NOT NULL,
	"test_failures" integer DEFAULT 0 NOT NULL,
	"timeout_s" integer NOT NULL,
	"lease_id" text,
	"agent_id" text,
	"avoid_agent_id" text,
	"requeued_at" bigint,
	"queued_at" bigint NOT NULL,
	"created_at" bigint NOT NULL,
	"started_at" bigint,
	"finished_at" bigint,
	"duration_ms" integer,
	"result" jsonb,
	"rerun_of" text,
	"superseded_by" text
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"org_id" text NOT NULL,
	"app_version_id" text NOT NULL,
	"target" text NOT NULL,
	"group_key" text NOT NULL,
	"install" boolean NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"ended_at" bigint,
	"end_reason" text
);
--> statement-breakpoint
CREATE TABLE "org_usage" (
	"org_id" text PRIMARY KEY NOT NULL,
	"usage_ms" double precision NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orgs" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text NOT NULL,
	"source" text NOT NULL,
	"repo" text,
	"sha" text,
	"ref" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "test_durations" (
	"org_id" text NOT NULL,
	"test_path" text NOT NULL,
	"target" text NOT NULL,
	"ewma_ms" double precision NOT NULL,
	"samples" integer NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "test_durations_org_id_test_path_target_pk" PRIMARY KEY("org_id","test_path","target")
);
--> statement-breakpoint
CREATE TABLE "tokens" (
	"id" text PRIMARY KEY NOT NULL,
	"org_id" text,
	"name" text NOT NULL,
	"hash" text NOT NULL,
	"scopes" jsonb NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "tokens_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE INDEX "agents_name" ON "agents" USING btree ("name");--> statement-breakpoint
CREATE INDEX "job_attempts_lease" ON "job_attempts" USING btree ("lease_id");--> statement-breakpoint
CREATE INDEX "jobs_queue" ON "jobs" USING btree ("status","target");--> statement-breakpoint
CREATE INDEX "jobs_run" ON "jobs" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "jobs_lease" ON "jobs" USING btree ("lease_id");--> statement-breakpoint
CREATE INDEX "jobs_org" ON "jobs" USING btree ("org_id","id");--> statement-breakpoint
CREATE INDEX "leases_live" ON "leases" USING btree ("ended_at","expires_at");--> statement-breakpoint
CREATE INDEX "leases_agent" ON "leases" USING btree ("agent_id");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_idempotency" ON "runs" USING btree ("org_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "runs_org" ON "runs" USING btree ("org_id","id");