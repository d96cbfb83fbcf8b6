ALTER TABLE "runs" ADD COLUMN "superseded_by" text;--> statement-breakpoint
CREATE INDEX "runs_branch" ON "runs" USING btree ("org_id","repo","ref","id");