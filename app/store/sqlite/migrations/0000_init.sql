CREATE TABLE `agents` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text,
	`name` text NOT NULL,
	`target` text NOT NULL,
	`device` text,
	`labels` text NOT NULL,
	`installed` text NOT NULL,
	`registered_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `agents_name` ON `agents` (`name`);--> statement-breakpoint
CREATE TABLE `job_attempts` (
	`job_id` text NOT NULL,
	`attempt` integer NOT NULL,
	`lease_id` text NOT NULL,
	`agent_id` text NOT NULL,
	`status` text NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`duration_ms` integer,
	`result` text,
	PRIMARY KEY(`job_id`, `attempt`)
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`run_id` text NOT NULL,
	`org_id` text NOT NULL,
	`app_version_id` text NOT NULL,
	`target` text NOT NULL,
	`device` text,
	`repo` text,
	`test_path` text NOT NULL,
	`tags` text NOT NULL,
	`priority` integer NOT NULL,
	`status` text NOT NULL,
	`flaky` integer DEFAULT false NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`retries` integer NOT NULL,
	`test_failures` integer DEFAULT 0 NOT NULL,
	`timeout_s` integer NOT NULL,
	`lease_id` text,
	`agent_id` text,
	`avoid_agent_id` text,
	`requeued_at` integer,
	`queued_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`duration_ms` integer,
	`result` text
);
--> statement-breakpoint
CREATE INDEX `jobs_queue` ON `jobs` (`status`,`target`);--> statement-breakpoint
CREATE INDEX `jobs_run` ON `jobs` (`run_id`);--> statement-breakpoint
CREATE INDEX `jobs_lease` ON `jobs` (`lease_id`);--> statement-breakpoint
CREATE INDEX `jobs_org` ON `jobs` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `leases` (
	`id` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`org_id` text NOT NULL,
	`app_version_id` text NOT NULL,
	`target` text NOT NULL,
	`group_key` text NOT NULL,
	`install` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`ended_at` integer,
	`end_reason` text
);
--> statement-breakpoint
CREATE INDEX `leases_live` ON `leases` (`ended_at`,`expires_at`);--> statement-breakpoint
CREATE INDEX `leases_agent` ON `leases` (`agent_id`);--> statement-breakpoint
CREATE TABLE `org_usage` (
	`org_id` text PRIMARY KEY NOT NULL,
	`usage_ms` real NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `orgs` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`source` text NOT NULL,
	`repo` text,
	`sha` text,
	`ref` text,
	`idempotency_key` text,
	`request_hash` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `runs_idempotency` ON `runs` (`org_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `runs_org` ON `runs` (`org_id`,`id`);--> statement-breakpoint
CREATE TABLE `test_durations` (
	`org_id` text NOT NULL,
	`test_path` text NOT NULL,
	`target` text NOT NULL,
	`ewma_ms` real NOT NULL,
	`samples` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`org_id`, `test_path`, `target`)
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text,
	`name` text NOT NULL,
	`hash` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tokens_hash_unique` ON `tokens` (`hash`);