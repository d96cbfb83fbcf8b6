/**
 * The dashboard: server-rendered pages over the same Store and auth as the API. Kept out of the
 * OpenAPI document (it is not an API), and authorised here from the session cookie rather than
 * by the API's bearer hook.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { IdParams, ListRunsQuery } from "../../../api/schemas.js";
import { QgjobError } from "../../errors.js";
import { allows, type Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { presentAgent, presentJob, presentQueue, presentRun } from "../../present.js";
import { agentsPage } from "./agents-page.js";
import { LIVE_SCRIPT, STYLESHEET } from "./assets.js";
import type { Html } from "./html.js";
import { errorPage, type Viewer } from "./layout.js";
import { loginPage } from "./login-page.js";
import { queuePage } from "./queue-page.js";
import { runPage } from "./run-page.js";
import { runsPage, type RunFilters } from "./runs-page.js";
import {
  SESSION_COOKIE,
  clearedSessionCookie,
  isHttps,
  readCookie,
  sameOrigin,
  sessionCookie,
} from "./session.js";

const PAGE_SIZE = 50;
const hidden = { schema: { hide: true } };

declare module "fastify" {
  interface FastifyRequest {
    viewer: Viewer;
  }
}

function send(reply: FastifyReply, page: Html, status = 200) {
  return reply
    .code(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("cache-control", "no-store")
    .header("x-frame-options", "DENY")
    .header(
      "content-security-policy",
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; form-action 'self'",
    )
    .send(page.text);
}

/** Form fields left empty mean "no filter". */
function filled(query: Record<string, string | undefined>) {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== ""));
}

export function dashboardRoutes(app: FastifyInstance, deps: RouteDeps) {
  const { store, auth, clock } = deps;

  async function callerOf(req: FastifyRequest): Promise<Caller | null> {
    try {
      return await auth.callerFor(readCookie(req.headers.cookie, SESSION_COOKIE), "read");
    } catch (err) {
      if (err instanceof QgjobError && (err.code === "unauthorized" || err.code === "forbidden"))
        return null;
      throw err;
    }
  }

  app.register(async (pages) => {
    pages.decorateRequest("viewer", null as unknown as Viewer);
    pages.addContentTypeParser(
      "application/x-www-form-urlencoded",
      { parseAs: "string" },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
    );
    pages.setErrorHandler((err, req, reply) => {
      req.log.error({ err }, "dashboard error");
      return send(
        reply,
        errorPage(null, "Something went wrong", "The server could not render this page."),
        500,
      );
    });
    pages.get("/dashboard/style.css", hidden, async (_req, reply) =>
      reply.header("content-type", "text/css; charset=utf-8").send(STYLESHEET),
    );
    pages.get("/dashboard/live.js", hidden, async (_req, reply) =>
      reply.header("content-type", "text/javascript; charset=utf-8").send(LIVE_SCRIPT),
    );

    pages.get("/login", hidden, async (req, reply) => {
      if ((await callerOf(req)) !== null) return reply.redirect("/", 303);
      return send(reply, loginPage(null));
    });

    pages.post("/login", hidden, async (req, reply) => {
      if (!sameOrigin(req.headers)) return send(reply, loginPage("Sign in from this page."), 403);
      const token = (req.body as Record<string, string> | undefined)?.token?.trim() ?? "";
      try {
        await auth.callerFor(token, "read");
      } catch {
        return send(reply, loginPage("That token is unknown or lacks the read scope."), 401);
      }
      reply.header("set-cookie", sessionCookie(token, isHttps(req.protocol, req.headers)));
      return reply.redirect("/", 303);
    });

    pages.post("/logout", hidden, async (req, reply) => {
      if (!sameOrigin(req.headers))
        return send(reply, errorPage(null, "Refused", "Sign out from a page of this server."), 403);
      reply.header("set-cookie", clearedSessionCookie(isHttps(req.protocol, req.headers)));
      return reply.redirect("/login", 303);
    });

    // Every page below needs a reader; the buttons also need `submit`.
    pages.register(async (readers) => {
      readers.addHook("onRequest", async (req, reply) => {
        const caller = await callerOf(req);
        if (caller === null) {
          if (readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined) {
            reply.header("set-cookie", clearedSessionCookie(isHttps(req.protocol, req.headers)));
          }
          return reply.redirect("/login", 303);
        }
        req.caller = caller;
        req.viewer = {
          orgId: caller.orgId,
          signedIn: caller.tokenId !== null,
          canSubmit: allows(caller, "submit"),
        };
      });

      readers.get("/", hidden, async (req, reply) => {
        const raw = req.query as Record<string, string | undefined>;
        const filters: RunFilters = {
          org_id: raw.org_id,
          status: raw.status,
          app_version_id: raw.app_version_id,
        };
        const query = ListRunsQuery.safeParse({
          ...filled({ ...filters, cursor: raw.cursor }),
          limit: PAGE_SIZE,
        });
        if (!query.success) {
          const issue = query.error.issues[0];
          return send(
            reply,
            errorPage(req.viewer, "Bad filter", `${issue?.path.join(".")}: ${issue?.message}`),
            400,
          );
        }
        const list = await store.listRuns(query.data, req.caller);
        const older =
          list.nextCursor === null
            ? null
            : `/?${new URLSearchParams({ ...filled(filters), cursor: list.nextCursor })}`;
        return send(
          reply,
          runsPage({
            viewer: req.viewer,
            filters,
            runs: list.items.map(presentRun),
            olderHref: older,
            now: clock(),
          }),
        );
      });

      async function runOr404(req: FastifyRequest, reply: FastifyReply) {
        const params = IdParams.safeParse(req.params);
        const run = params.success ? await store.getRun(params.data.id, req.caller) : null;
        if (!run) {
          await send(reply, errorPage(req.viewer, "Not found", "There is no such run."), 404);
          return null;
        }
        return run;
      }

      readers.get("/runs/:id", hidden, async (req, reply) => {
        const run = await runOr404(req, reply);
        if (!run) return reply;
        return send(
          reply,
          runPage({
            viewer: req.viewer,
            run: { ...presentRun(run), jobs: run.jobs.map(presentJob) },
            now: clock(),
          }),
        );
      });

      /** A button's POST: same origin, a `submit` token, then back to the run page. */
      function runAction(path: string, act: (id: string, caller: Caller) => Promise<unknown>) {
        readers.post(path, hidden, async (req, reply) => {
          if (!sameOrigin(req.headers)) {
            return send(
              reply,
              errorPage(
                req.viewer,
                "Refused",
                "This form must be sent from a page of this server.",
              ),
              403,
            );
          }
          if (!req.viewer.canSubmit) {
            return send(
              reply,
              errorPage(req.viewer, "Not allowed", "Your token lacks the submit scope."),
              403,
            );
          }
          const run = await runOr404(req, reply);
          if (!run) return reply;
          await act(run.id, req.caller);
          return reply.redirect(`/runs/${run.id}`, 303);
        });
      }
      runAction("/runs/:id/cancel", (id, caller) => store.cancelRun(id, caller, clock()));
      runAction("/runs/:id/rerun-failed", async (id, caller) => {
        const out = await store.rerunFailed(id, caller, {}, clock());
        if (out && out.rerun.length > 0) deps.metrics.submitted.inc(out.rerun.length);
      });

      readers.get("/queue", hidden, async (req, reply) => {
        const now = clock();
        const [overview, next] = await Promise.all([
          store.queueOverview(req.caller, now),
          store.previewNextLeases(req.caller, now),
        ]);
        return send(
          reply,
          queuePage({ viewer: req.viewer, queue: presentQueue(overview, now), next }),
        );
      });

      readers.get("/agents", hidden, async (req, reply) => {
        const now = clock();
        const agents = await store.listAgents(req.caller, now);
        const leaseIds = agents.flatMap((a) => (a.leaseId ? [a.leaseId] : []));
        const leaseJobs = await store.jobsOfLeases(leaseIds, req.caller);
        return send(
          reply,
          agentsPage({
            viewer: req.viewer,
            agents: agents.map((a) => presentAgent(a, now, store.options.leaseTtlMs)),
            leaseJobs: leaseJobs.map(presentJob),
            now,
          }),
        );
      });
    });
  });
}
