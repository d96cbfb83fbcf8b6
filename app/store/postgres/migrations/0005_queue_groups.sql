CREATE TABLE "queue_groups" (
	"group_key" text NOT NULL,
	"device_key" text NOT NULL,
	"target" text NOT NULL,
	"org_id" text NOT NULL,
	"app_version_id" text NOT NULL,
	"priority" integer NOT NULL,
	"oldest_queued_at" bigint NOT NULL,
	CONSTRAINT "queue_groups_group_key_device_key_pk" PRIMARY KEY("group_key","device_key")
);
--> statement-breakpoint
CREATE TABLE "queue_partitions" (
	"group_key" text NOT NULL,
	"device_key" text NOT NULL,
	"priority" integer NOT NULL,
	"queued" integer NOT NULL,
	"oldest_queued_at" bigint NOT NULL,
	CONSTRAINT "queue_partitions_group_key_device_key_priority_pk" PRIMARY KEY("group_key","device_key","priority")
);
--> statement-breakpoint
DROP INDEX "jobs_queue";--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "group_key" text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX "queue_groups_oldest" ON "queue_groups" USING btree ("target","device_key","org_id","oldest_queued_at","priority" DESC NULLS LAST,"group_key");--> statement-breakpoint
CREATE INDEX "queue_groups_top" ON "queue_groups" USING btree ("target","device_key","org_id","priority" DESC NULLS LAST,"oldest_queued_at","group_key");--> statement-breakpoint
CREATE INDEX "queue_groups_version" ON "queue_groups" USING btree ("app_version_id","target","device_key");--> statement-breakpoint
CREATE INDEX "jobs_group_queue" ON "jobs" USING btree ("status","group_key","device","priority","queued_at");
--> statement-breakpoint
-- Keeps queue_partitions and queue_groups equal to the queued jobs summarised by group, device
-- key and priority (and folded over priority), as the SQLite triggers of the same name do.
-- Concurrent writers of one group queue on its summary rows' locks, which each transaction
-- takes last and holds to commit; the next-oldest lookup runs on the statement's own snapshot,
-- after the lock, so it sees every commit before it.
CREATE FUNCTION qgjob_queue_enter(j jobs) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	dk text := coalesce('=' || j.device, '-');
BEGIN
	INSERT INTO queue_partitions AS p (group_key, device_key, priority, queued, oldest_queued_at)
	VALUES (j.group_key, dk, j.priority, 1, j.queued_at)
	ON CONFLICT (group_key, device_key, priority) DO UPDATE
	SET queued = p.queued + 1, oldest_queued_at = least(p.oldest_queued_at, excluded.oldest_queued_at);
	INSERT INTO queue_groups AS g (group_key, device_key, target, org_id, app_version_id, priority, oldest_queued_at)
	VALUES (j.group_key, dk, j.target, j.org_id, j.app_version_id, j.priority, j.queued_at)
	ON CONFLICT (group_key, device_key) DO UPDATE
	SET priority = greatest(g.priority, excluded.priority),
		oldest_queued_at = least(g.oldest_queued_at, excluded.oldest_queued_at);
END $$;
--> statement-breakpoint
CREATE FUNCTION qgjob_queue_leave(j jobs) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	dk text := coalesce('=' || j.device, '-');
	left_queued integer;
	left_oldest bigint;
BEGIN
	UPDATE queue_partitions SET queued = queued - 1
	WHERE group_key = j.group_key AND device_key = dk AND priority = j.priority
	RETURNING queued, oldest_queued_at INTO left_queued, left_oldest;
	IF left_queued IS NULL THEN
		RETURN;
	ELSIF left_queued <= 0 THEN
		DELETE FROM queue_partitions WHERE group_key = j.group_key AND device_key = dk AND priority = j.priority;
	ELSIF left_oldest = j.queued_at THEN
		-- Two branches so that each compares device by index (IS NOT DISTINCT FROM would not).
		-- Row triggers run after the whole statement, so the lookup may find every job of the
		-- partition gone already: the partition's last row then deletes it.
		IF j.device IS NULL THEN
			UPDATE queue_partitions SET oldest_queued_at = coalesce((
				SELECT min(queued_at) FROM jobs WHERE status = 'queued' AND group_key = j.group_key
					AND device IS NULL AND priority = j.priority), oldest_queued_at)
			WHERE group_key = j.group_key AND device_key = dk AND priority = j.priority;
		ELSE
			UPDATE queue_partitions SET oldest_queued_at = coalesce((
				SELECT min(queued_at) FROM jobs WHERE status = 'queued' AND group_key = j.group_key
					AND device = j.device AND priority = j.priority), oldest_queued_at)
			WHERE group_key = j.group_key AND device_key = dk AND priority = j.priority;
		END IF;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM queue_partitions WHERE group_key = j.group_key AND device_key = dk) THEN
		DELETE FROM queue_groups WHERE group_key = j.group_key AND device_key = dk;
	ELSE
		UPDATE queue_groups SET (priority, oldest_queued_at) = (
			SELECT max(priority), min(oldest_queued_at) FROM queue_partitions
			WHERE group_key = j.group_key AND device_key = dk)
		WHERE group_key = j.group_key AND device_key = dk
			AND (priority = j.priority OR oldest_queued_at = j.queued_at);
	END IF;
END $$;
--> statement-breakpoint
CREATE FUNCTION qgjob_jobs_queue_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'queued'
		AND (TG_OP = 'DELETE' OR NEW.status <> 'queued' OR NEW.group_key <> OLD.group_key) THEN
		PERFORM qgjob_queue_leave(OLD);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'queued'
		AND (TG_OP = 'INSERT' OR OLD.status <> 'queued' OR NEW.group_key <> OLD.group_key) THEN
		PERFORM qgjob_queue_enter(NEW);
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER jobs_queue_summary AFTER INSERT OR UPDATE OF status, group_key OR DELETE ON jobs
FOR EACH ROW EXECUTE FUNCTION qgjob_jobs_queue_summary();
