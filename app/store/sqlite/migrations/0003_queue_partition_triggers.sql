-- Keeps queue_partitions equal to
--   SELECT <grouping columns>, count(*), min(queued_at) FROM jobs WHERE status = 'queued' GROUP BY ...
-- on every path that queues or unqueues a job (submit, claim, requeue, release, cancel), so the
-- claim reads one row per partition instead of every queued job.
CREATE TRIGGER jobs_enter_queue_on_insert AFTER INSERT ON jobs WHEN new.status = 'queued' BEGIN
	INSERT OR IGNORE INTO queue_partitions (key, target, org_id, app_version_id, device, repo, tags, priority, queued, oldest_queued_at)
	VALUES (new.target || char(31) || new.org_id || char(31) || new.app_version_id || char(31) || coalesce('=' || new.device, '-') || char(31) || coalesce('=' || new.repo, '-') || char(31) || new.tags || char(31) || new.priority, new.target, new.org_id, new.app_version_id, new.device, new.repo, new.tags, new.priority, 0, new.queued_at);
	UPDATE queue_partitions SET queued = queued + 1, oldest_queued_at = min(oldest_queued_at, new.queued_at)
	WHERE key = new.target || char(31) || new.org_id || char(31) || new.app_version_id || char(31) || coalesce('=' || new.device, '-') || char(31) || coalesce('=' || new.repo, '-') || char(31) || new.tags || char(31) || new.priority;
END;
--> statement-breakpoint
CREATE TRIGGER jobs_enter_queue_on_update AFTER UPDATE OF status ON jobs
WHEN new.status = 'queued' AND old.status <> 'queued' BEGIN
	INSERT OR IGNORE INTO queue_partitions (key, target, org_id, app_version_id, device, repo, tags, priority, queued, oldest_queued_at)
	VALUES (new.target || char(31) || new.org_id || char(31) || new.app_version_id || char(31) || coalesce('=' || new.device, '-') || char(31) || coalesce('=' || new.repo, '-') || char(31) || new.tags || char(31) || new.priority, new.target, new.org_id, new.app_version_id, new.device, new.repo, new.tags, new.priority, 0, new.queued_at);
	UPDATE queue_partitions SET queued = queued + 1, oldest_queued_at = min(oldest_queued_at, new.queued_at)
	WHERE key = new.target || char(31) || new.org_id || char(31) || new.app_version_id || char(31) || coalesce('=' || new.device, '-') || char(31) || coalesce('=' || new.repo, '-') || char(31) || new.tags || char(31) || new.priority;
END;
--> statement-breakpoint
CREATE TRIGGER jobs_leave_queue_on_update AFTER UPDATE OF status ON jobs
WHEN old.status = 'queued' AND new.status <> 'queued' BEGIN
	UPDATE queue_partitions SET queued = queued - 1 WHERE key = old.target || char(31) || old.org_id || char(31) || old.app_version_id || char(31) || coalesce('=' || old.device, '-') || char(31) || coalesce('=' || old.repo, '-') || char(31) || old.tags || char(31) || old.priority;
	DELETE FROM queue_partitions WHERE key = old.target || char(31) || old.org_id || char(31) || old.app_version_id || char(31) || coalesce('=' || old.device, '-') || char(31) || coalesce('=' || old.repo, '-') || char(31) || old.tags || char(31) || old.priority AND queued <= 0;
	UPDATE queue_partitions SET oldest_queued_at = (
		SELECT min(queued_at) FROM jobs
		WHERE status = 'queued' AND org_id = old.org_id AND app_version_id = old.app_version_id
			AND target = old.target AND device IS old.device AND repo IS old.repo
			AND tags = old.tags AND priority = old.priority
	)
	WHERE key = old.target || char(31) || old.org_id || char(31) || old.app_version_id || char(31) || coalesce('=' || old.device, '-') || char(31) || coalesce('=' || old.repo, '-') || char(31) || old.tags || char(31) || old.priority AND oldest_queued_at = old.queued_at;
END;
--> statement-breakpoint
CREATE TRIGGER jobs_leave_queue_on_delete AFTER DELETE ON jobs WHEN old.status = 'queued' BEGIN
	UPDATE queue_partitions SET queued = queued - 1 WHERE key = old.target || char(31) || old.org_id || char(31) || old.app_version_id || char(31) || coalesce('=' || old.device, '-') || char(31) || coalesce('=' || old.repo, '-') || char(31) || old.tags || char(31) || old.priority;
	DELETE FROM queue_partitions WHERE key = old.target || char(31) || old.org_id || char(31) || old.app_version_id || char(31) || coalesce('=' || old.device, '-') || char(31) || coalesce('=' || old.repo, '-') || char(31) || old.tags || char(31) || old.priority AND queued <= 0;
	UPDATE queue_partitions SET oldest_queued_at = (
		SELECT min(queued_at) FROM jobs
		WHERE status = 'queued' AND org_id = old.org_id AND app_version_id = old.app_version_id
			AND target = old.target AND device IS old.device AND repo IS old.repo
			AND tags = old.tags AND priority = old.priority
	)
	WHERE key = old.target || char(31) || old.org_id || char(31) || old.app_version_id || char(31) || coalesce('=' || old.device, '-') || char(31) || coalesce('=' || old.repo, '-') || char(31) || old.tags || char(31) || old.priority AND oldest_queued_at = old.queued_at;
END;
--> statement-breakpoint
INSERT INTO queue_partitions (key, target, org_id, app_version_id, device, repo, tags, priority, queued, oldest_queued_at)
SELECT jobs.target || char(31) || jobs.org_id || char(31) || jobs.app_version_id || char(31) || coalesce('=' || jobs.device, '-') || char(31) || coalesce('=' || jobs.repo, '-') || char(31) || jobs.tags || char(31) || jobs.priority, target, org_id, app_version_id, device, repo, tags, priority, count(*), min(queued_at)
FROM jobs WHERE status = 'queued'
GROUP BY target, org_id, app_version_id, device, repo, tags, priority;
