CREATE TABLE `queue_groups` (
	`group_key` text NOT NULL,
	`device_key` text NOT NULL,
	`target` text NOT NULL,
	`org_id` text NOT NULL,
	`app_version_id` text NOT NULL,
	`priority` integer NOT NULL,
	`oldest_queued_at` integer NOT NULL,
	PRIMARY KEY(`group_key`, `device_key`)
);
--> statement-breakpoint
CREATE INDEX `queue_groups_oldest` ON `queue_groups` (`target`,`device_key`,`org_id`,`oldest_queued_at`,"priority" desc,`group_key`);--> statement-breakpoint
CREATE INDEX `queue_groups_top` ON `queue_groups` (`target`,`device_key`,`org_id`,"priority" desc,`oldest_queued_at`,`group_key`);--> statement-breakpoint
CREATE INDEX `queue_groups_version` ON `queue_groups` (`app_version_id`,`target`,`device_key`);--> statement-breakpoint
CREATE TABLE `queue_partitions` (
	`group_key` text NOT NULL,
	`device_key` text NOT NULL,
	`priority` integer NOT NULL,
	`queued` integer NOT NULL,
	`oldest_queued_at` integer NOT NULL,
	PRIMARY KEY(`group_key`, `device_key`, `priority`)
);
