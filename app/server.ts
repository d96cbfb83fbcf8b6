/**
 * Composition root: config -> store -> scheduler policy -> HTTP. Returns a handle whose close()
 * drains in-flight requests, stops the reaper and closes the database.
 */
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import { type Config, ConfigError, describeDatabase, isLoopback } from "./config.js";
import type { GithubApp } from "./github/app.js";
import { githubSettings } from "./github/settings.js";
import { Authenticator } from "./http/auth.js";
import { createMetrics } from "./metrics.js";
import { buildHttp } from "./http/server.js";
import { RunService } from "./runs.js";
import { openStore } from "./store/open.js";
import type { Store } from "./store/store.js";
import { VERSION } from "./version.js";

export interface RunningServer {
  url: string;
  store: Store;
  close(): Promise<void>;
}

export function createLogger(level: Config["logLevel"]): Logger {
  return pino({
    level,
    redact: {
      paths: ["req.headers.authorization", "headers.authorization", "token"],
      censor: "[redacted]",
    },
  });
}

export async function startServer(
  config: Config,
  logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const store = await openStore(config, logger);
  let githubApp: GithubApp | null = null;
  try {
    const loopback = isLoopback(config.host);
    if (!(await store.hasTokens())) {
      if (!loopback) {
        throw new ConfigError(
          `refusing to listen on ${config.host} with no API tokens: create one with ` +
            "`qgjob token create --org <org> --scope submit,read`, or bind to 127.0.0.1",
        );
      }
      logger.warn(
        { host: config.host },
        "OPEN MODE: no API tokens exist, so every request on this loopback address is trusted. Create a token to require auth.",
      );
    }
    const shutdown = new AbortController();
    const metrics = createMetrics(store);
    const runs = new RunService(store, metrics, Date.now);
    const app = await buildHttp(
      {
        store,
        auth: new Authenticator(store, loopback),
        metrics,
        runs,
        clock: Date.now,
        shutdown: shutdown.signal,
      },
      {
        logger,
        bodyLimitBytes: config.bodyLimitBytes,
        rateLimit: { perSecond: config.rateLimitPerS, burst: config.rateLimitBurst },
        version: VERSION,
      },
    );
    app.addHook("preClose", async () => shutdown.abort());

    const github = githubSettings(config);
    if (github.settings) {
      // Loaded only when configured: Probot adds a quarter second to an API-only start.
      const { startGithubApp } = await import("./github/app.js");
      githubApp = await startGithubApp(app, github.settings, { store, runs }, logger, Date.now);
      logger.info({ ghe: config.gheHost ?? null }, "GitHub App webhooks at /api/github/webhooks");
    } else {
      logger.info(
        { missing: github.missing },
        "GitHub App not configured: the server runs API-only",
      );
    }

    const reaper = setInterval(() => {
      store
        .reapExpired(Date.now())
        .then((report) => {
          if (report.expiredLeases + report.timedOut > 0)
            logger.info(report, "reaped expired leases");
          metrics.requeues.inc(report.requeued);
        })
        .catch((err: unknown) => logger.error({ err }, "reaper failed"));
    }, config.reapIntervalS * 1000);
    reaper.unref();

    await app.listen({ host: config.host, port: config.port });
    const { port } = app.server.address() as AddressInfo;
    const host = config.host.includes(":") ? `[${config.host}]` : config.host;
    const url = `http://${host}:${port}`;
    logger.info(
      { url, db: describeDatabase(config), engine: store.engine },
      "qgjob server listening",
    );
    return {
      url,
      store,
      async close() {
        clearInterval(reaper);
        await githubApp?.stop();
        await app.close();
        await store.close();
      },
    };
  } catch (err) {
    await githubApp?.stop();
    await store.close();
    throw err;
  }
}
