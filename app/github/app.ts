/**
 * The GitHub App inside the qgjob server: Probot (auth, throttling and retries of GitHub's API),
 * the webhook route, and the check-run reporter.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { Probot } from "probot";
import type { RunService } from "../runs.js";
import type { Store } from "../store/store.js";
import { githubHandlers } from "./handlers.js";
import type { Octokit } from "./repo-reader.js";
import { CheckReporter } from "./reporter.js";
import type { GithubSettings } from "./settings.js";
import { mountWebhookRoute } from "./webhook-route.js";

export interface GithubApp {
  probot: Probot;
  reporter: CheckReporter;
  stop(): Promise<void>;
}

export async function startGithubApp(
  http: FastifyInstance,
  settings: GithubSettings,
  { store, runs }: { store: Store; runs: RunService },
  logger: Logger,
  clock: () => number,
): Promise<GithubApp> {
  const log = logger.child({ component: "github" });
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.baseUrl,
    log,
  });
  await probot.load(githubHandlers({ store, runs, clock, log }));
  await mountWebhookRoute(http, probot, log);
  const reporter = new CheckReporter(
    store,
    async (installationId) => (await probot.auth(installationId)) as Octokit,
    log,
    { minIntervalMs: settings.updateIntervalMs, publicUrl: settings.publicUrl },
  );
  // Ticks well inside the update interval, so a due update waits little past it.
  reporter.start(Math.min(1000, Math.max(50, settings.updateIntervalMs / 4)), clock);
  return { probot, reporter, stop: () => reporter.stop() };
}
