ALTER TABLE `github_checks` ADD `error` text;--> statement-breakpoint
ALTER TABLE `github_deliveries` ADD `payload` text;--> statement-breakpoint
ALTER TABLE `github_deliveries` ADD `attempts` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `github_deliveries` ADD `next_attempt_at` integer;--> statement-breakpoint
ALTER TABLE `github_deliveries` ADD `processed_at` integer;--> statement-breakpoint
ALTER TABLE `github_deliveries` ADD `error` text;--> statement-breakpoint
CREATE INDEX `github_deliveries_due` ON `github_deliveries` (`processed_at`,`next_attempt_at`);