DROP TABLE `queue_partitions`;--> statement-breakpoint
DROP INDEX `jobs_partition_queue`;--> statement-breakpoint
ALTER TABLE `jobs` ADD `group_key` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_group_queue` ON `jobs` (`status`,`group_key`,`device`,`priority`,`queued_at`);