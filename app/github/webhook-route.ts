/**
 * POST /api/github/webhooks in the API's Fastify server. The signature is checked against the raw
 * body (a parser scoped to this route keeps it as text) before anything is parsed or queued; a
 * missing or wrong one is a 401 in the API's error format. A delivery qgjob acts on is recorded
 * (payload included) and answered at once; the work happens after the answer (deliveries.ts), so
 * GitHub's 10-second delivery timeout is never at the mercy of its own API. Not part of the
 * OpenAPI document: it is GitHub's contract, not ours.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { QgjobError } from "../errors.js";
import type { Store } from "../store/store.js";
import { ignoredBecause } from "./handlers.js";

export interface WebhookRouteDeps {
  probot: Probot;
  store: Store;
  clock: () => number;
  log: Logger;
  /** Called once a new delivery is recorded. */
  received(): void;
}

export const WEBHOOK_PATH = "/api/github/webhooks";

const header = (value: string | string[] | undefined) =>
  typeof value === "string" && value !== "" ? value : undefined;

export async function mountWebhookRoute(app: FastifyInstance, deps: WebhookRouteDeps) {
  const { probot, store, clock, log } = deps;
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));
    scope.post(WEBHOOK_PATH, { schema: { hide: true } }, async (req, reply) => {
      const id = header(req.headers["x-github-delivery"]);
      const name = header(req.headers["x-github-event"]);
      const signature = header(req.headers["x-hub-signature-256"]);
      if (!signature) throw new QgjobError("unauthorized", "missing X-Hub-Signature-256");
      const body = typeof req.body === "string" ? req.body : "";
      // verify() throws on an empty body or a malformed signature: both are simply not valid.
      const valid = await probot.webhooks.verify(body, signature).catch(() => false);
      if (!valid) {
        throw new QgjobError(
          "unauthorized",
          "X-Hub-Signature-256 does not match the payload and the webhook secret",
        );
      }
      if (!id || !name) {
        throw new QgjobError("invalid_request", "missing X-GitHub-Delivery or X-GitHub-Event");
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        throw new QgjobError(
          "invalid_json",
          "the webhook payload is not JSON (set the App's content type to application/json)",
        );
      }
      const ignored = ignoredBecause(name, payload);
      if (ignored !== null) {
        log.debug({ delivery: id, event: name, reason: ignored }, "GitHub webhook ignored");
        return reply.code(202).send({ received: id, ignored });
      }
      let fresh: boolean;
      try {
        fresh = await store.receiveGithubDelivery({ id, event: name, payload: body }, clock());
      } catch (err) {
        log.error(
          { delivery: id, event: name, error: (err as Error).message },
          "GitHub webhook not recorded",
        );
        throw new QgjobError(
          "unavailable",
          "the delivery could not be recorded; GitHub can redeliver it",
        );
      }
      if (fresh) deps.received();
      else log.info({ delivery: id, event: name }, "GitHub webhook redelivered: already handled");
      return reply.code(202).send({ received: id });
    });
  });
}
