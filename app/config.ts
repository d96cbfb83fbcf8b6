/**
 * Server configuration: flags win over environment variables, which win over defaults.
 * Every setting is listed in docs/configuration.md (test/docs/docs.test.ts checks it).
 */
import { isIP } from "node:net";
import { dirname, join } from "node:path";
import { z } from "zod";
import { RESULT_TEXT_MAX } from "../api/schemas.js";
import { groupingStrategies } from "./scheduler/grouping.js";
import { DEFAULT_SCHEDULER_CONFIG } from "./scheduler/policy.js";
import { HISTORY_WINDOW } from "./store/history.js";
import type { StoreOptions } from "./store/store.js";

const Port = z.coerce.number().int().min(0).max(65535);
const Seconds = z.coerce.number().positive();
const Flag = z
  .union([z.boolean(), z.enum(["1", "0", "true", "false", "yes", "no"])])
  .transform((v) => v === true || v === "1" || v === "true" || v === "yes");

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
  pgPrepare: Flag.default(true),
  leaseTtlS: Seconds.default(120),
  reapIntervalS: Seconds.default(5),
  /** A lease whose agent starts nothing for this long gives its jobs back (build, install). */
  leaseStartS: Seconds.default(600),
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
  /** Receiving one request, body included, may take this long (uploads of big builds too). */
  requestTimeoutS: Seconds.default(300),
  /** 0: the open-files limit less a reserve (app/http/connections.ts). */
  maxConnections: z.coerce.number().int().min(0).default(0),
  maxConnectionsPerAddress: z.coerce.number().int().min(1).default(256),
  rateLimitPerS: z.coerce.number().min(0).default(100),
  /** An event-stream client whose unsent backlog has not drained for this long is dropped. */
  sseStallS: Seconds.default(30),
  rateLimitBurst: z.coerce.number().int().min(1).default(2000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Unset: pretty lines on a terminal, JSON otherwise (app/log-format.ts). */
  logFormat: z.enum(["json", "pretty"]).optional(),
  // The GitHub App (app/github/settings.ts): on when the id, a key and the secret are all set.
  githubAppId: z.string().regex(/^\d+$/, "the App's numeric id").optional(),
  githubPrivateKey: z.string().optional(),
  githubPrivateKeyPath: z.string().optional(),
  githubWebhookSecret: z.string().optional(),
  gheHost: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "a host name such as github.example.com")
    .optional(),
  /** GitHub's REST API root (a proxy, or a stand-in in tests): https, or http on loopback only. */
  githubApiUrl: z
    .url({ protocol: /^https?$/ })
    .refine(
      (u) =>
        u.startsWith("https:") ||
        /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/.test(u),
      "https, or plain http only on a loopback address",
    )
    .optional(),
  publicUrl: z.url({ protocol: /^https?$/ }).optional(),
  githubUpdateIntervalS: Seconds.default(5),
  githubRequestTimeoutS: Seconds.default(10),
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
  /** Behind a reverse proxy: believe its X-Forwarded-For/-Host/-Proto headers. */
  trustProxy: Flag.default(false),
  /** /metrics without a token (e.g. a scraper on a private network). */
  metricsPublic: Flag.default(false),
  /** Tokens created without an expiry get this many days; 0: they never expire. */
  tokenTtlDays: z.coerce.number().min(0).default(0),
  /** Characters of a result's message the server keeps (its head), and of its log tail (its end). */
  resultMessageMax: z.coerce.number().int().min(256).max(RESULT_TEXT_MAX).default(RESULT_TEXT_MAX),
  resultLogTailMax: z.coerce.number().int().min(256).max(RESULT_TEXT_MAX).default(RESULT_TEXT_MAX),
  /** Set (0 to 1): a test whose flake rate over its last quarantineRuns runs is above it is
   * quarantined for quarantineDays by itself. Unset: the rule is off. */
  quarantineFlakeRate: z.coerce.number().min(0).max(1).optional(),
  quarantineRuns: z.coerce.number().int().min(1).max(HISTORY_WINDOW).default(20),
  quarantineDays: z.coerce.number().positive().max(90).default(14),
  /** An agent with this many infrastructure errors within drainWindowS is drained; 0: never. */
  drainErrors: z.coerce.number().int().min(0).max(100).default(0),
  drainWindowS: z.coerce.number().int().min(1).default(900),
  /** Each lease runs its previously failed and never-seen tests first. */
  failedFirst: Flag.default(true),
  /** Days a finished job's evidence (and a run's bundle and build) is kept after last use. */
  retentionDays: z.coerce.number().positive().max(3650).default(30),
  /** How often retention looks for blobs to remove. */
  retentionSweepS: z.coerce.number().positive().default(600),
  /** The key of signed evidence links; replicas must share it (unset: a random one per process). */
  linkSecret: z.string().min(16, "at least 16 characters").optional(),
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
  pgPrepare: ["QGJOB_PG_PREPARE"],
  leaseTtlS: ["QGJOB_LEASE_TTL_S"],
  reapIntervalS: ["QGJOB_REAP_INTERVAL_S"],
  leaseStartS: ["QGJOB_LEASE_START_S"],
  starvationS: ["QGJOB_STARVATION_S"],
  grouping: ["QGJOB_GROUPING"],
  bodyLimitBytes: ["QGJOB_BODY_LIMIT_BYTES"],
  requestTimeoutS: ["QGJOB_REQUEST_TIMEOUT_S"],
  maxConnections: ["QGJOB_MAX_CONNECTIONS"],
  maxConnectionsPerAddress: ["QGJOB_MAX_CONNECTIONS_PER_ADDRESS"],
  rateLimitPerS: ["QGJOB_RATE_LIMIT_PER_S"],
  sseStallS: ["QGJOB_SSE_STALL_S"],
  rateLimitBurst: ["QGJOB_RATE_LIMIT_BURST"],
  logLevel: ["QGJOB_LOG_LEVEL", "LOG_LEVEL"],
  logFormat: ["QGJOB_LOG_FORMAT"],
  githubAppId: ["APP_ID"],
  githubPrivateKey: ["PRIVATE_KEY"],
  githubPrivateKeyPath: ["PRIVATE_KEY_PATH"],
  githubWebhookSecret: ["WEBHOOK_SECRET"],
  gheHost: ["GHE_HOST"],
  githubApiUrl: ["GITHUB_API_URL"],
  publicUrl: ["QGJOB_PUBLIC_URL"],
  githubUpdateIntervalS: ["QGJOB_GITHUB_UPDATE_INTERVAL_S"],
  githubRequestTimeoutS: ["QGJOB_GITHUB_REQUEST_TIMEOUT_S"],
  blobDir: ["QGJOB_BLOB_DIR"],
  blobUrl: ["QGJOB_BLOB_URL"],
  blobMaxBytes: ["QGJOB_BLOB_MAX_BYTES"],
  trustProxy: ["QGJOB_TRUST_PROXY"],
  metricsPublic: ["QGJOB_METRICS_PUBLIC"],
  tokenTtlDays: ["QGJOB_TOKEN_TTL_DAYS"],
  resultMessageMax: ["QGJOB_RESULT_MESSAGE_MAX"],
  resultLogTailMax: ["QGJOB_RESULT_LOG_TAIL_MAX"],
  quarantineFlakeRate: ["QGJOB_QUARANTINE_FLAKE_RATE"],
  quarantineRuns: ["QGJOB_QUARANTINE_RUNS"],
  quarantineDays: ["QGJOB_QUARANTINE_DAYS"],
  drainErrors: ["QGJOB_DRAIN_ERRORS"],
  drainWindowS: ["QGJOB_DRAIN_WINDOW_S"],
  failedFirst: ["QGJOB_FAILED_FIRST"],
  linkSecret: ["QGJOB_LINK_SECRET"],
  retentionDays: ["QGJOB_RETENTION_DAYS"],
  retentionSweepS: ["QGJOB_RETENTION_SWEEP_S"],
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
    quarantineRule:
      config.quarantineFlakeRate === undefined
        ? null
        : {
            flakeRate: config.quarantineFlakeRate,
            window: config.quarantineRuns,
            durationMs: config.quarantineDays * 86_400_000,
          },
    failedFirst: config.failedFirst,
    drainRule:
      config.drainErrors === 0
        ? null
        : { errors: config.drainErrors, windowMs: config.drainWindowS * 1000 },
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
