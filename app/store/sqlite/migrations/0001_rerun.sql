ALTER TABLE `jobs` ADD `rerun_of` text;--> statement-breakpoint
ALTER TABLE `jobs` ADD `superseded_by` text;