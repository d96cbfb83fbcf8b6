ALTER TABLE `blobs` ADD `files` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `bundle` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `build` text;