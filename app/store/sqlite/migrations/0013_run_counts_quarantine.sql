DROP INDEX `jobs_run_counts`;--> statement-breakpoint
CREATE INDEX `jobs_run_counts` ON `jobs` (`run_id`,`superseded_by`,`status`,`flaky`,`quarantined_until`,`finished_at`);