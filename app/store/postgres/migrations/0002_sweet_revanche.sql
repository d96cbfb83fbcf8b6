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