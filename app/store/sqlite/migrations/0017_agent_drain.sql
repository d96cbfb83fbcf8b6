ALTER TABLE `agents` ADD `drained_at` integer;--> statement-breakpoint
ALTER TABLE `agents` ADD `recent_errors` text DEFAULT '[]' NOT NULL;