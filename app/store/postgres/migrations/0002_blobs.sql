CREATE TABLE "blobs" (
	"org_id" text NOT NULL,
	"sha256" text NOT NULL,
	"size" bigint NOT NULL,
	"kind" text NOT NULL,
	"created_at" bigint NOT NULL,
	"last_referenced_at" bigint NOT NULL,
	CONSTRAINT "blobs_org_id_sha256_pk" PRIMARY KEY("org_id","sha256")
);
--> statement-breakpoint
CREATE INDEX "blobs_sha256" ON "blobs" USING btree ("sha256");