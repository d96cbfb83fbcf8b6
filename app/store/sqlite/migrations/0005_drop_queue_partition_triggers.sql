-- The queue summary is rebuilt by group (0008): the partition triggers go first, so that no
-- statement in between fires a trigger on a table that is being replaced.
DROP TRIGGER IF EXISTS jobs_enter_queue_on_insert;
--> statement-breakpoint
DROP TRIGGER IF EXISTS jobs_enter_queue_on_update;
--> statement-breakpoint
DROP TRIGGER IF EXISTS jobs_leave_queue_on_update;
--> statement-breakpoint
DROP TRIGGER IF EXISTS jobs_leave_queue_on_delete;
