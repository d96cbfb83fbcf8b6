ALTER TABLE `runs` ADD `superseded_by` text;--> statement-breakpoint
CREATE INDEX `runs_branch` ON `runs` (`org_id`,`repo`,`ref`,`id`);