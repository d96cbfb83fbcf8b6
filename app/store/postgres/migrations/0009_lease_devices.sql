CREATE TABLE "lease_devices" (
	"lease_id" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"app_version_id" text NOT NULL,
	"installs" integer NOT NULL,
	"sessions" integer NOT NULL,
	"install_ms" bigint NOT NULL,
	"session_ms" bigint NOT NULL,
	"reported_at" bigint NOT NULL
);
