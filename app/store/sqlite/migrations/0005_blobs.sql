CREATE TABLE `blobs` (
	`org_id` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_referenced_at` integer NOT NULL,
	PRIMARY KEY(`org_id`, `sha256`)
);
--> statement-breakpoint
CREATE INDEX `blobs_sha256` ON `blobs` (`sha256`);