/**
 * The GitHub App inside the qgjob server: Probot (webhook signatures, installation auth), the
 * webhook route that records deliveries, the worker that processes them after the answer, and the
 * check-run reporter. GitHub calls go through qgjobOctokit (API version, timeouts, no hidden
 * waits or retries).
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { Probot } from "probot";
import type { Blobs } from "../blobs/service.js";
import type { LinkSigner } from "../evidence/links.js";
import type { RunService } from "../runs.js";
import type { Store } from "../store/store.js";
import { DeliveryWorker } from "./deliveries.js";
import { handleDelivery } from "./handlers.js";
import { qgjobOctokit } from "./octokit.js";
import type { Octokit } from "./repo-reader.js";
import { CheckReporter } from "./reporter.js";
import type { GithubSettings } from "./settings.js";
import { mountWebhookRoute } from "./webhook-route.js";

export interface GithubApp {
  probot: Probot;
  reporter: CheckReporter;
  deliveries: DeliveryWorker;
  stop(): Promise<void>;
}

export async function startGithubApp(
  http: FastifyInstance,
  settings: GithubSettings,
  {
    store,
    runs,
    blobs,
    evidence,
  }: {
    store: Store;
    runs: RunService;
    blobs: Blobs;
    evidence: { links: LinkSigner; retentionMs: number };
  },
  logger: Logger,
  clock: () => number,
): Promise<GithubApp> {
  const log = logger.child({ component: "github" });
  const probot = new Probot({
    appId: settings.appId,
    privateKey: settings.privateKey,
    secret: settings.webhookSecret,
    baseUrl: settings.baseUrl,
    Octokit: qgjobOctokit(settings.requestTimeoutMs),
    log,
  });
  const octokitFor = async (installationId: number) =>
    (await probot.auth(installationId)) as Octokit;
  const deliveries = new DeliveryWorker(
    store,
    (delivery) => handleDelivery({ store, runs, blobs, clock, log, octokitFor }, delivery),
    log,
    clock,
    { retryMs: Math.max(200, settings.updateIntervalMs) },
  );
  await mountWebhookRoute(http, { probot, store, clock, log, received: () => deliveries.kick() });
  const reporter = new CheckReporter(store, octokitFor, log, {
    minIntervalMs: settings.updateIntervalMs,
    publicUrl: settings.publicUrl,
    evidence,
  });
  // Ticks well inside the update interval, so a due update waits little past it.
  const tickMs = Math.min(1000, Math.max(50, settings.updateIntervalMs / 4));
  reporter.start(tickMs, clock);
  // Picks up deliveries left unprocessed by a restart, and retries.
  deliveries.start(Math.max(tickMs, 250));
  return {
    probot,
    reporter,
    deliveries,
    stop: async () => {
      await deliveries.stop();
      await reporter.stop();
    },
  };
}
