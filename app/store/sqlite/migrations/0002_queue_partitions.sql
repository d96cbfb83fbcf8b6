CREATE TABLE `queue_partitions` (
	`key` text PRIMARY KEY NOT NULL,
	`target` text NOT NULL,
	`org_id` text NOT NULL,
	`app_version_id` text NOT NULL,
	`device` text,
	`repo` text,
	`tags` text NOT NULL,
	`priority` integer NOT NULL,
	`queued` integer NOT NULL,
	`oldest_queued_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `queue_partitions_target` ON `queue_partitions` (`target`);--> statement-breakpoint
DROP INDEX `jobs_queue`;--> statement-breakpoint
CREATE INDEX `jobs_partition_queue` ON `jobs` (`status`,`org_id`,`app_version_id`,`target`,`device`,`repo`,`tags`,`priority`,`queued_at`);