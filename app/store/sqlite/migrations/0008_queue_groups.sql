-- The queue summary is rebuilt by group (0008): the partition triggers go first, so that no
-- statement in between fires a trigger on a table that is being replaced.
DROP TRIGGER IF EXISTS jobs_enter_queue_on_insert;
--> statement-breakpoint
DROP TRIGGER IF EXISTS jobs_enter_queue_on_update;
--> statement-breakpoint
DROP TRIGGER IF EXISTS jobs_leave_queue_on_update;
--> statement-breakpoint
DROP TRIGGER IF EXISTS jobs_leave_queue_on_delete;
--> statement-breakpoint
DROP TABLE `queue_partitions`;--> statement-breakpoint
DROP INDEX `jobs_partition_queue`;--> statement-breakpoint
ALTER TABLE `jobs` ADD `group_key` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `jobs_group_queue` ON `jobs` (`status`,`group_key`,`device`,`priority`,`queued_at`);
--> statement-breakpoint
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
--> statement-breakpoint
-- Keeps queue_partitions equal to
--   SELECT group_key, device_key, priority, count(*), min(queued_at) FROM jobs WHERE status = 'queued'
-- and queue_groups to the same folded over priority (max priority, min queued_at), on every path
-- that queues or unqueues a job (submit, claim, requeue, release, cancel) or regroups it (a new
-- grouping strategy, groups.ts). A job leaving its partition's oldest place is replaced by the
-- next through jobs_group_queue; a group's head is refolded from its few partitions.
-- Jobs queued before this migration have no group key yet: the store gives them one on open,
-- and these triggers then summarise them.
CREATE TRIGGER jobs_enter_queue_on_insert AFTER INSERT ON jobs WHEN new.status = 'queued' BEGIN
	INSERT OR IGNORE INTO queue_partitions (group_key, device_key, priority, queued, oldest_queued_at)
	VALUES (new.group_key, coalesce('=' || new.device, '-'), new.priority, 0, new.queued_at);
	UPDATE queue_partitions SET queued = queued + 1, oldest_queued_at = min(oldest_queued_at, new.queued_at)
	WHERE group_key = new.group_key AND device_key = coalesce('=' || new.device, '-') AND priority = new.priority;
	INSERT OR IGNORE INTO queue_groups (group_key, device_key, target, org_id, app_version_id, priority, oldest_queued_at)
	VALUES (new.group_key, coalesce('=' || new.device, '-'), new.target, new.org_id, new.app_version_id, new.priority, new.queued_at);
	UPDATE queue_groups SET priority = max(priority, new.priority), oldest_queued_at = min(oldest_queued_at, new.queued_at)
	WHERE group_key = new.group_key AND device_key = coalesce('=' || new.device, '-');
END;
--> statement-breakpoint
CREATE TRIGGER jobs_enter_queue_on_update AFTER UPDATE OF status, group_key ON jobs
WHEN new.status = 'queued' AND (old.status <> 'queued' OR old.group_key <> new.group_key) BEGIN
	INSERT OR IGNORE INTO queue_partitions (group_key, device_key, priority, queued, oldest_queued_at)
	VALUES (new.group_key, coalesce('=' || new.device, '-'), new.priority, 0, new.queued_at);
	UPDATE queue_partitions SET queued = queued + 1, oldest_queued_at = min(oldest_queued_at, new.queued_at)
	WHERE group_key = new.group_key AND device_key = coalesce('=' || new.device, '-') AND priority = new.priority;
	INSERT OR IGNORE INTO queue_groups (group_key, device_key, target, org_id, app_version_id, priority, oldest_queued_at)
	VALUES (new.group_key, coalesce('=' || new.device, '-'), new.target, new.org_id, new.app_version_id, new.priority, new.queued_at);
	UPDATE queue_groups SET priority = max(priority, new.priority), oldest_queued_at = min(oldest_queued_at, new.queued_at)
	WHERE group_key = new.group_key AND device_key = coalesce('=' || new.device, '-');
END;
--> statement-breakpoint
CREATE TRIGGER jobs_leave_queue_on_update AFTER UPDATE OF status, group_key ON jobs
WHEN old.status = 'queued' AND (new.status <> 'queued' OR old.group_key <> new.group_key) BEGIN
	UPDATE queue_partitions SET queued = queued - 1 WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND priority = old.priority;
	DELETE FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND priority = old.priority AND queued <= 0;
	UPDATE queue_partitions SET oldest_queued_at = (
		SELECT min(queued_at) FROM jobs
		WHERE status = 'queued' AND group_key = old.group_key AND device IS old.device AND priority = old.priority
	)
	WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND priority = old.priority AND oldest_queued_at = old.queued_at;
	DELETE FROM queue_groups WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-')
		AND NOT EXISTS (SELECT 1 FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-'));
	UPDATE queue_groups SET
		priority = (SELECT max(priority) FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-')),
		oldest_queued_at = (SELECT min(oldest_queued_at) FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-'))
	WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND (priority = old.priority OR oldest_queued_at = old.queued_at);
END;
--> statement-breakpoint
CREATE TRIGGER jobs_leave_queue_on_delete AFTER DELETE ON jobs WHEN old.status = 'queued' BEGIN
	UPDATE queue_partitions SET queued = queued - 1 WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND priority = old.priority;
	DELETE FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND priority = old.priority AND queued <= 0;
	UPDATE queue_partitions SET oldest_queued_at = (
		SELECT min(queued_at) FROM jobs
		WHERE status = 'queued' AND group_key = old.group_key AND device IS old.device AND priority = old.priority
	)
	WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND priority = old.priority AND oldest_queued_at = old.queued_at;
	DELETE FROM queue_groups WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-')
		AND NOT EXISTS (SELECT 1 FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-'));
	UPDATE queue_groups SET
		priority = (SELECT max(priority) FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-')),
		oldest_queued_at = (SELECT min(oldest_queued_at) FROM queue_partitions WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-'))
	WHERE group_key = old.group_key AND device_key = coalesce('=' || old.device, '-') AND (priority = old.priority OR oldest_queued_at = old.queued_at);
END;
