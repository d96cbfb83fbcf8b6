CREATE TABLE `test_history` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`repo` text NOT NULL,
	`test_path` text NOT NULL,
	`target` text NOT NULL,
	`runs` integer NOT NULL,
	`passed` integer NOT NULL,
	`failed` integer NOT NULL,
	`flaky` integer NOT NULL,
	`errors` integer NOT NULL,
	`recent` text NOT NULL,
	`durations` text NOT NULL,
	`flake_rate` real NOT NULL,
	`failure_rate` real NOT NULL,
	`p50_ms` integer NOT NULL,
	`p95_ms` integer NOT NULL,
	`duration_change_ms` integer NOT NULL,
	`first_seen_at` integer NOT NULL,
	`last_run_at` integer NOT NULL,
	`last_passed_at` integer,
	`last_failed_at` integer,
	`recent_runs` text NOT NULL,
	`last_failures` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `test_history_test` ON `test_history` (`org_id`,`repo`,`test_path`,`target`);--> statement-breakpoint
CREATE INDEX `test_history_flake` ON `test_history` (`org_id`,`flake_rate`,`id`);--> statement-breakpoint
CREATE INDEX `test_history_failure` ON `test_history` (`org_id`,`failure_rate`,`id`);--> statement-breakpoint
CREATE INDEX `test_history_p95` ON `test_history` (`org_id`,`p95_ms`,`id`);--> statement-breakpoint
CREATE INDEX `test_history_change` ON `test_history` (`org_id`,`duration_change_ms`,`id`);--> statement-breakpoint
CREATE TABLE `test_quarantines` (
	`org_id` text NOT NULL,
	`test_path` text NOT NULL,
	`reason` text NOT NULL,
	`owner` text,
	`automatic` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`org_id`, `test_path`)
);
--> statement-breakpoint
ALTER TABLE `jobs` ADD `quarantined_until` integer;