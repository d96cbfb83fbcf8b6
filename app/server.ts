/**
 * Composition root: config -> store -> scheduler policy -> HTTP. Returns a handle whose close()
 * drains in-flight requests, stops the reaper and closes the database.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { pino, type Logger } from "pino";
import { Blobs } from "./blobs/service.js";
import { openBlobStore } from "./blobs/open.js";
import { blobDir, type Config, ConfigError, describeDatabase, isLoopback } from "./config.js";
import type { GithubApp } from "./github/app.js";
import { githubSettings } from "./github/settings.js";
import { Authenticator } from "./http/auth.js";
import { LinkSigner } from "./evidence/links.js";
import { humanLine, logFormat, type LogFormat } from "./log-format.js";
import { createMetrics } from "./metrics.js";
import { buildHttp, type HttpOptions } from "./http/server.js";
import { PauseWatch } from "./pauses.js";
import { startReaper } from "./reaper.js";
import { RetentionSweeper } from "./blobs/retention.js";
import { RunService } from "./runs.js";
import { TestService } from "./tests.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";
import { VERSION } from "./version.js";

export interface RunningServer {
  url: string;
  store: Store;
  close(): Promise<void>;
}

export function createLogger(level: Config["logLevel"], format: LogFormat = "json"): Logger {
  const options = {
    level,
    redact: {
      paths: ["req.headers.authorization", "headers.authorization", "token"],
      censor: "[redacted]",
    },
  };
  if (format === "json") return pino(options);
  // Redaction has run by the time pino hands over the line.
  return pino(options, { write: (line: string) => void process.stdout.write(humanLine(line)) });
}

export async function startServer(
  config: Config,
  logger = createLogger(
    config.logLevel,
    logFormat(config.logFormat, process.stdout.isTTY === true),
  ),
): Promise<RunningServer> {
  const store = await openStore(config, logger, { server: true });
  let githubApp: GithubApp | null = null;
  try {
    const services = await buildServices(config, store, logger);
    const { app, runs, blobs, evidence } = services;
    githubApp = await startGithub(app, config, { store, runs, blobs, evidence }, logger);
    const background = startBackground(config, store, services, logger);
    const url = await listen(app, config, store, logger);
    return {
      url,
      store,
      async close() {
        await background.stop();
        await githubApp?.stop();
        await app.close();
        await store.close();
        logger.info({ url }, "qgjob server stopped");
      },
    };
  } catch (err) {
    await githubApp?.stop();
    await store.close();
    throw err;
  }
}

type Services = Awaited<ReturnType<typeof buildServices>>;

/** The services over the store, and the HTTP app that serves them (not listening yet). */
async function buildServices(config: Config, store: Store, logger: Logger) {
  const loopback = isLoopback(config.host);
  const startedOpen = await checkOpenMode(store, config.host, loopback, logger);
  const pauses = new PauseWatch(store, {
    tickMs: 250,
    thresholdMs: 1000,
    clock: Date.now,
    logger,
  });
  const clock = () => pauses.now();
  const shutdown = new AbortController();
  const blobBytes = await openBlobStore({ blobUrl: config.blobUrl, blobDir: blobDir(config) });
  const metrics = createMetrics(store, blobBytes);
  const evidence = {
    links: new LinkSigner(config.linkSecret),
    retentionMs: config.retentionDays * 86_400_000,
  };
  const runs = new RunService(store, metrics, clock, {
    messageMax: config.resultMessageMax,
    logTailMax: config.resultLogTailMax,
  });
  const blobs = new Blobs(store, blobBytes, config.blobMaxBytes);
  const app = await buildHttp(
    {
      store,
      blobs,
      auth: new Authenticator(store, loopback, Date.now, () => {
        if (startedOpen)
          logger.info("open mode ended: a token exists, so every request now needs one");
      }),
      metricsPublic: config.metricsPublic,
      tokenTtlMs: config.tokenTtlDays > 0 ? config.tokenTtlDays * 86_400_000 : null,
      ...evidence,
      metrics,
      runs,
      tests: new TestService(store, clock),
      clock,
      shutdown: shutdown.signal,
    },
    httpOptions(config, logger),
  );
  app.addHook("preClose", async () => shutdown.abort());
  return { app, pauses, clock, metrics, evidence, runs, blobs };
}

/** The timers that run beside the requests: the reaper, retention and the pause watch. */
function startBackground(config: Config, store: Store, services: Services, logger: Logger) {
  const { pauses, clock, metrics, blobs, evidence } = services;
  const reaper = startReaper(store, pauses, {
    intervalMs: config.reapIntervalS * 1000,
    leaseStartMs: config.leaseStartS * 1000,
    clock,
    logger,
    onRequeued: (n) => metrics.requeues.inc(n),
  });
  const retention = new RetentionSweeper(store, blobs.bytes, metrics.blobsRemoved, {
    retentionMs: evidence.retentionMs,
    intervalMs: config.retentionSweepS * 1000,
    clock,
    logger,
  });
  retention.start();
  return {
    async stop() {
      reaper.stop();
      await retention.stop();
      pauses.stop();
    },
  };
}

/**
 * Whether the server starts in open mode (no tokens yet): allowed on loopback only, and said
 * loudly, since every request there is then trusted.
 */
async function checkOpenMode(
  store: Store,
  host: string,
  loopback: boolean,
  logger: Logger,
): Promise<boolean> {
  if (await store.hasTokens()) return false;
  if (!loopback) {
    throw new ConfigError(
      `refusing to listen on ${host} with no API tokens: create one with ` +
        "`qgjob token create --org <org> --scope submit,read`, or bind to 127.0.0.1",
    );
  }
  logger.warn(
    { host },
    "OPEN MODE: no API tokens exist, so every request on this loopback address is trusted. Create a token to require auth.",
  );
  return true;
}

/** The GitHub App's webhook route when it is configured, else one line saying what is missing. */
async function startGithub(
  app: FastifyInstance,
  config: Config,
  deps: {
    store: Store;
    runs: RunService;
    blobs: Blobs;
    evidence: { links: LinkSigner; retentionMs: number };
  },
  logger: Logger,
): Promise<GithubApp | null> {
  const github = githubSettings(config);
  if (!github.settings) {
    logger.info({ missing: github.missing }, "GitHub App not configured: the server runs API-only");
    return null;
  }
  // Loaded only when configured: Probot adds a quarter second to an API-only start.
  const { startGithubApp } = await import("./github/app.js");
  const githubApp = await startGithubApp(app, github.settings, deps, logger, Date.now);
  logger.info({ ghe: config.gheHost ?? null }, "GitHub App webhooks at /api/github/webhooks");
  return githubApp;
}

/** Listens and logs the one line people look for: where the API and the dashboard are. */
async function listen(
  app: FastifyInstance,
  config: Config,
  store: Store,
  logger: Logger,
): Promise<string> {
  // Fastify's own "Server listening at" line would be a second, poorer copy of ours.
  const level = app.log.level;
  app.log.level = "warn";
  try {
    await app.listen({ host: config.host, port: config.port });
  } finally {
    app.log.level = level;
  }
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  logger.info(
    {
      url,
      api: `${url}/api/v1`,
      dashboard: `${url}/`,
      db: describeDatabase(config),
      engine: store.engine,
    },
    "qgjob server listening",
  );
  return url;
}

/** The HTTP layer's limits and identity, from the config. */
function httpOptions(config: Config, logger: Logger): HttpOptions {
  return {
    // A child of its own, so quieting Fastify while it listens leaves the others' lines.
    logger: logger.child({}),
    bodyLimitBytes: config.bodyLimitBytes,
    requestTimeoutMs: config.requestTimeoutS * 1000,
    connections: {
      perAddress: config.maxConnectionsPerAddress,
      total: config.maxConnections,
    },
    rateLimit: { perSecond: config.rateLimitPerS, burst: config.rateLimitBurst },
    sseStallMs: config.sseStallS * 1000,
    version: VERSION,
    trustProxy: config.trustProxy,
  };
}
