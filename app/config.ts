/**
 * Server configuration: flags win over environment variables, which win over defaults.
 * Every setting is listed in the README's configuration table.
 */
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { z } from "zod";
import { groupingStrategies } from "./scheduler/grouping.js";
import { DEFAULT_SCHEDULER_CONFIG } from "./scheduler/policy.js";
import type { StoreOptions } from "./store/store.js";

const Port = z.coerce.number().int().min(0).max(65535);
const Seconds = z.coerce.number().positive();

const ConfigSchema = z.object({
  host: z.string().min(1).default("127.0.0.1"),
  port: Port.default(8000),
  db: z.string().min(1).default("./data/qgjob.db"),
  dbSync: z.enum(["normal", "full"]).default("normal"),
  /** Set: use this Postgres database (shared by replicas) instead of the SQLite file. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: "a postgres:// or postgresql:// URL" })
    .optional(),
  pgPoolMax: z.coerce.number().int().min(1).max(1000).default(10),
  pgStatementTimeoutMs: z.coerce.number().int().min(100).default(30_000),
  leaseTtlS: Seconds.default(120),
  reapIntervalS: Seconds.default(5),
  starvationS: Seconds.default(DEFAULT_SCHEDULER_CONFIG.starvationMs / 1000),
  grouping: z
    .string()
    .refine((g) => g in groupingStrategies, {
      message: `one of ${Object.keys(groupingStrategies).join(", ")}`,
    })
    .default("app_version"),
  bodyLimitBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 * 1024),
  rateLimitPerS: z.coerce.number().min(0).default(100),
  rateLimitBurst: z.coerce.number().int().min(1).default(2000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // The GitHub App (app/github/settings.ts): on when the id, a key and the secret are all set.
  githubAppId: z.string().regex(/^\d+$/, "the App's numeric id").optional(),
  githubPrivateKey: z.string().optional(),
  githubPrivateKeyPath: z.string().optional(),
  githubWebhookSecret: z.string().optional(),
  gheHost: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "a host name such as github.example.com")
    .optional(),
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  githubUpdateIntervalS: Seconds.default(5),
  /** Blobs (bundles, builds, evidence) on disk; default: `blobs/` beside the SQLite file. */
  blobDir: z.string().min(1).optional(),
  /** Set: blobs in this S3-compatible bucket instead (shared by replicas). */
  blobUrl: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, {
      message: "an s3://bucket/prefix URL",
    })
    .optional(),
  blobMaxBytes: z.coerce
    .number()
    .int()
    .min(1)
    .default(200 * 1024 * 1024),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

const ENV: Record<keyof Config, string[]> = {
  host: ["QGJOB_HOST", "HOST"],
  port: ["QGJOB_PORT", "PORT"],
  db: ["QGJOB_DB"],
  dbSync: ["QGJOB_DB_SYNC"],
  databaseUrl: ["DATABASE_URL"],
  pgPoolMax: ["QGJOB_PG_POOL_MAX"],
  pgStatementTimeoutMs: ["QGJOB_PG_STATEMENT_TIMEOUT_MS"],
  leaseTtlS: ["QGJOB_LEASE_TTL_S"],
  reapIntervalS: ["QGJOB_REAP_INTERVAL_S"],
  starvationS: ["QGJOB_STARVATION_S"],
  grouping: ["QGJOB_GROUPING"],
  bodyLimitBytes: ["QGJOB_BODY_LIMIT_BYTES"],
  rateLimitPerS: ["QGJOB_RATE_LIMIT_PER_S"],
  rateLimitBurst: ["QGJOB_RATE_LIMIT_BURST"],
  logLevel: ["QGJOB_LOG_LEVEL", "LOG_LEVEL"],
  githubAppId: ["APP_ID"],
  githubPrivateKey: ["PRIVATE_KEY"],
  githubPrivateKeyPath: ["PRIVATE_KEY_PATH"],
  githubWebhookSecret: ["WEBHOOK_SECRET"],
  gheHost: ["GHE_HOST"],
  publicUrl: ["QGJOB_PUBLIC_URL"],
  githubUpdateIntervalS: ["QGJOB_GITHUB_UPDATE_INTERVAL_S"],
  blobDir: ["QGJOB_BLOB_DIR"],
  blobUrl: ["QGJOB_BLOB_URL"],
  blobMaxBytes: ["QGJOB_BLOB_MAX_BYTES"],
};

export class ConfigError extends Error {}

export function loadConfig(flags: ConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const merged: Record<string, unknown> = {};
  for (const [key, names] of Object.entries(ENV)) {
    const fromEnv = names.map((n) => env[n]).find((v) => v !== undefined && v !== "");
    const fromFlag = flags[key as keyof Config];
    merged[key] = fromFlag ?? fromEnv;
  }
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path[0] as keyof Config;
    throw new ConfigError(`invalid ${key} (${ENV[key]?.[0] ?? key}): ${issue.message}`);
  }
  return parsed.data;
}

export function storeOptions(config: Config): StoreOptions {
  return {
    leaseTtlMs: config.leaseTtlS * 1000,
    avoidAgentMs: 60_000,
    timeoutGraceMs: 60_000,
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, starvationMs: config.starvationS * 1000 },
    grouping: groupingStrategies[config.grouping]!,
  };
}

/** Where the data lives, for logs: the SQLite path, or the Postgres URL without its password. */
export function describeDatabase(config: Config): string {
  if (config.databaseUrl === undefined) return config.db;
  const url = new URL(config.databaseUrl);
  if (url.password) url.password = "***";
  return url.toString();
}

/** Open mode (no tokens) is only allowed where nobody else can connect. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/** Where disk blobs live: QGJOB_BLOB_DIR, else `blobs/` in the data directory (the db's). */
export function blobDir(config: Config): string {
  if (config.blobDir !== undefined) return config.blobDir;
  return join(config.db === ":memory:" ? "./data" : dirname(config.db), "blobs");
}
