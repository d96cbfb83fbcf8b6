/**
 * The dashboard: server-rendered pages over the same Store and auth as the API. Kept out of the
 * OpenAPI document (it is not an API), and authorised here from the session cookie rather than
 * by the API's bearer hook.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { z } from "zod";
import { LogEventId } from "../../../api/logs.js";
import {
  Cursor,
  IdParams,
  ListRunsQuery,
  ListTestsQuery,
  QuarantineRequest,
} from "../../../api/schemas.js";
import type { LiveLogs } from "../../live-logs.js";
import { QgjobError } from "../../errors.js";
import { listEvidence, logTail } from "../../evidence/evidence.js";
import { allows, type Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { EventHeaders, openRunEvents } from "../routes/events.js";
import { openJobLog } from "../routes/logs.js";
import type { RunHub } from "../run-hub.js";
import {
  presentAgent,
  presentJob,
  presentLeaseDevice,
  presentQueue,
  presentRun,
  presentRunPage,
  presentTest,
  presentTestDetail,
} from "../../present.js";
import { testPage, testsPage, type TestFilters } from "./tests-page.js";
import { agentsPage } from "./agents-page.js";
import { LIVE_SCRIPT, STYLESHEET } from "./assets.js";
import type { Html } from "./html.js";
import { errorPage, type Viewer } from "./layout.js";
import { loginPage } from "./login-page.js";
import { queuePage } from "./queue-page.js";
import { jobPage } from "./job-page.js";
import { runPage } from "./run-page.js";
import { runsPage, type RunFilters } from "./runs-page.js";
import {
  SESSION_COOKIE,
  clearedSessionCookie,
  readCookie,
  sameOrigin,
  sessionCookie,
} from "./session.js";

const PAGE_SIZE = 50;
/** Jobs per page of a run's page. */
const RUN_PAGE_SIZE = 200;
/**
 * A page's evidence links (images, videos, the trace viewer) work at least this long after it
 * loads. Their expiry is rounded up to the hour so that the page's live refreshes within an hour
 * render the same links: a changed link would swap the region and restart a playing video.
 */
const PAGE_LINK_MS = 12 * 3600_000;
const HOUR_MS = 3600_000;
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
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; frame-ancestors 'none'; form-action 'self'",
    )
    .send(page.text);
}

/** Form fields left empty mean "no filter". */
function filled(query: Record<string, string | undefined>) {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== ""));
}

/** The event streams the live pages follow (shared with the API's routes). */
export interface PageStreams {
  hub: RunHub;
  logs: LiveLogs;
  stallMs: number;
}

export function dashboardRoutes(app: FastifyInstance, deps: RouteDeps, streams: PageStreams) {
  app.register(async (pages) => {
    pageHandling(pages);
    signInRoutes(pages, deps);
    // Every page below needs a reader; the buttons also need `submit`.
    pages.register(async (readers) => {
      requireReader(readers, deps);
      runListPage(readers, deps);
      runPages(readers, deps);
      jobPages(readers, deps);
      liveStreams(readers, deps, streams);
      runButtons(readers, deps);
      testListPage(readers, deps);
      testPages(readers, deps);
      queueAndAgentPages(readers, deps);
    });
  });
}

/** The session cookie's caller, or null when there is no usable session. */
async function sessionCaller(deps: RouteDeps, req: FastifyRequest): Promise<Caller | null> {
  try {
    return await deps.auth.callerFor(readCookie(req.headers.cookie, SESSION_COOKIE), "read");
  } catch (err) {
    if (err instanceof QgjobError && (err.code === "unauthorized" || err.code === "forbidden"))
      return null;
    throw err;
  }
}

/**
 * A signed link's visitor (a check run's or an Action summary's evidence link): the one job
 * it was signed for, read-only, without a session. An expired link says so.
 */
async function linkCaller(
  deps: RouteDeps,
  req: FastifyRequest,
): Promise<Caller | QgjobError | null> {
  const params = IdParams.safeParse(req.params);
  const { sig } = req.query as { sig?: unknown };
  if (req.routeOptions.url !== "/jobs/:id" || !params.success || typeof sig !== "string")
    return null;
  try {
    deps.links.verify(params.data.id, sig, deps.clock());
  } catch (err) {
    return err instanceof QgjobError && err.code === "link_expired" ? err : null;
  }
  const job = await deps.store.getJob(params.data.id, { orgId: null });
  return job ? { orgId: job.orgId, tokenId: null, scopes: new Set(["read"]) } : null;
}

/** Form bodies, the error page in place of the API's JSON errors, and the static assets. */
function pageHandling(pages: FastifyInstance) {
  pages.decorateRequest("viewer", null as unknown as Viewer);
  pages.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  pages.setErrorHandler((err, req, reply) => {
    // A refusal the caller can act on (a foreign Host in open mode, say) keeps its status.
    if (err instanceof QgjobError && err.status < 500) {
      return send(reply, errorPage(null, "Request refused", err.message), err.status);
    }
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
}

function signInRoutes(pages: FastifyInstance, deps: RouteDeps) {
  pages.get("/login", hidden, async (req, reply) => {
    if ((await sessionCaller(deps, req)) !== null) return reply.redirect("/", 303);
    return send(reply, loginPage(null));
  });

  pages.post("/login", hidden, async (req, reply) => {
    if (!sameOrigin(req.headers, req.host))
      return send(reply, loginPage("Sign in from this page."), 403);
    const token = (req.body as Record<string, string> | undefined)?.token?.trim() ?? "";
    try {
      await deps.auth.callerFor(token, "read");
    } catch {
      return send(reply, loginPage("That token is unknown or lacks the read scope."), 401);
    }
    reply.header("set-cookie", sessionCookie(token, req.protocol === "https"));
    return reply.redirect("/", 303);
  });

  pages.post("/logout", hidden, async (req, reply) => {
    if (!sameOrigin(req.headers, req.host))
      return send(reply, errorPage(null, "Refused", "Sign out from a page of this server."), 403);
    reply.header("set-cookie", clearedSessionCookie(req.protocol === "https"));
    return reply.redirect("/login", 303);
  });
}

/** Sets the request's caller and viewer from the session or a signed link, else to /login. */
function requireReader(readers: FastifyInstance, deps: RouteDeps) {
  readers.addHook("onRequest", async (req, reply) => {
    const found = (await sessionCaller(deps, req)) ?? (await linkCaller(deps, req));
    if (found instanceof QgjobError) {
      return send(reply, errorPage(null, "Link expired", found.message), 401);
    }
    const caller = found;
    if (caller === null) {
      if (readCookie(req.headers.cookie, SESSION_COOKIE) !== undefined) {
        reply.header("set-cookie", clearedSessionCookie(req.protocol === "https"));
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
}

/** A list page's filters that do not parse: the first problem, as a 400 page. */
function badFilter(req: FastifyRequest, reply: FastifyReply, error: z.ZodError) {
  const issue = error.issues[0];
  return send(
    reply,
    errorPage(req.viewer, "Bad filter", `${issue?.path.join(".")}: ${issue?.message}`),
    400,
  );
}

function runListPage(readers: FastifyInstance, { store, clock }: RouteDeps) {
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
    if (!query.success) return badFilter(req, reply, query.error);
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
}

function runPages(readers: FastifyInstance, deps: RouteDeps) {
  const { store, clock } = deps;
  readers.get("/runs/:id", hidden, async (req, reply) => {
    const params = IdParams.safeParse(req.params);
    const cursor = Cursor.optional().safeParse((req.query as { cursor?: unknown }).cursor);
    if (!cursor.success) {
      return send(
        reply,
        errorPage(req.viewer, "Bad link", "That page of jobs is not one this server handed out."),
        400,
      );
    }
    const run = params.success
      ? await store.getRunPage(params.data.id, req.caller, {
          limit: RUN_PAGE_SIZE,
          cursor: cursor.data,
        })
      : null;
    if (!run) {
      return send(reply, errorPage(req.viewer, "Not found", "There is no such run."), 404);
    }
    const now = clock();
    const [checks, history, agents] = await Promise.all([
      store.githubChecksOf({ runId: run.id }),
      deps.runs.rerunHistory(run.jobs, req.caller),
      store.listAgents(req.caller, now),
    ]);
    return send(
      reply,
      runPage({
        viewer: req.viewer,
        run: presentRunPage(run),
        now,
        history: new Map([...history].map(([id, jobs]) => [id, jobs.map(presentJob)])),
        agentNames: new Map(agents.map((a) => [a.id, a.name])),
        githubProblems: checks.flatMap((c) => (c.error ? [c.error] : [])),
        laterPage: cursor.data !== undefined,
        devices: (await store.runLeaseDevices(run.id)).map(presentLeaseDevice),
        retentionMs: deps.retentionMs,
      }),
    );
  });
}

function jobPages(readers: FastifyInstance, deps: RouteDeps) {
  readers.get("/jobs/:id", hidden, async (req, reply) => {
    const params = IdParams.safeParse(req.params);
    const job = params.success ? await deps.store.getJob(params.data.id, req.caller) : null;
    if (!job) {
      return send(reply, errorPage(req.viewer, "Not found", "There is no such job."), 404);
    }
    const now = deps.clock();
    const sig = deps.links.sign(job.id, Math.ceil((now + PAGE_LINK_MS) / HOUR_MS) * HOUR_MS);
    const evidence = await listEvidence(deps.store, deps.blobs, job, {
      sig,
      retentionMs: deps.retentionMs,
    });
    const attempts = await Promise.all(
      evidence.attempts.map(async (a) => {
        const log = a.artifacts.find((f) => f.kind === "log" && f.url && f.sha256);
        return {
          ...a,
          log: log
            ? { ...(await logTail(deps.blobs, job.orgId, log.sha256!)), url: log.url! }
            : null,
        };
      }),
    );
    return send(reply, jobPage({ viewer: req.viewer, job: presentJob(job), attempts }));
  });
}

/**
 * The live regions' event streams: the API's, authorised by the session cookie (EventSource
 * cannot send an Authorization header). An id the page did not get from this server starts the
 * stream afresh.
 */
function liveStreams(readers: FastifyInstance, deps: RouteDeps, streams: PageStreams) {
  readers.get("/runs/:id/events", hidden, async (req, reply) => {
    const params = IdParams.safeParse(req.params);
    const last = EventHeaders.safeParse(req.headers).data?.["last-event-id"];
    const opened =
      params.success &&
      (await openRunEvents(streams.hub, deps, streams.stallMs, reply, {
        runId: params.data.id,
        caller: req.caller,
        lastEventId: last === undefined ? null : Number(last),
      }));
    if (!opened) return reply.code(404).send();
  });

  readers.get("/jobs/:id/log/events", hidden, async (req, reply) => {
    const params = IdParams.safeParse(req.params);
    const last = LogEventId.safeParse(req.headers["last-event-id"]).data ?? null;
    const opened =
      params.success &&
      (await openJobLog(deps, streams.logs, streams.stallMs, req, reply, {
        jobId: params.data.id,
        caller: req.caller,
        lastEventId: last,
      }));
    if (!opened) return reply.code(404).send();
  });
}

/** A form's POST is refused unless it comes from a page of this server with a `submit` token. */
function refuseForm(req: FastifyRequest, reply: FastifyReply) {
  if (!sameOrigin(req.headers, req.host)) {
    return send(
      reply,
      errorPage(req.viewer, "Refused", "This form must be sent from a page of this server."),
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
  return null;
}

/** A run page's buttons: same origin, a `submit` token, then back to the run page. */
function runButtons(readers: FastifyInstance, deps: RouteDeps) {
  const { store, clock } = deps;
  function runAction(path: string, act: (id: string, caller: Caller) => Promise<unknown>) {
    readers.post(path, hidden, async (req, reply) => {
      const refused = refuseForm(req, reply);
      if (refused) return refused;
      const params = IdParams.safeParse(req.params);
      const run = params.success ? await store.getRunView(params.data.id, req.caller) : null;
      if (!run) {
        return send(reply, errorPage(req.viewer, "Not found", "There is no such run."), 404);
      }
      await act(run.id, req.caller);
      return reply.redirect(`/runs/${run.id}`, 303);
    });
  }
  runAction("/runs/:id/cancel", (id, caller) => store.cancelRun(id, caller, clock()));
  runAction("/runs/:id/rerun-failed", (id, caller) => deps.runs.rerunFailed(caller, id));
}

function testListPage(readers: FastifyInstance, deps: RouteDeps) {
  readers.get("/tests", hidden, async (req, reply) => {
    const raw = req.query as Record<string, string | undefined>;
    const filters: TestFilters = {
      org_id: raw.org_id,
      repo: raw.repo,
      target: raw.target,
      path: raw.path,
      flaky: raw.flaky,
      quarantined: raw.quarantined,
      sort: raw.sort,
    };
    const query = ListTestsQuery.safeParse({
      ...filled({ ...filters, cursor: raw.cursor }),
      limit: PAGE_SIZE,
    });
    if (!query.success) return badFilter(req, reply, query.error);
    const list = await deps.tests.list(query.data, req.caller);
    const next =
      list.nextCursor === null
        ? null
        : `/tests?${new URLSearchParams({ ...filled(filters), cursor: list.nextCursor })}`;
    return send(
      reply,
      testsPage({
        viewer: req.viewer,
        filters,
        tests: list.items.map(presentTest),
        nextHref: next,
      }),
    );
  });
}

/** A test page's quarantine form as the API's request; its days become seconds. */
function quarantineRequest(
  test: { orgId: string; testPath: string },
  form: Record<string, string>,
) {
  const days = Number(form.days);
  const input = QuarantineRequest.safeParse({
    org_id: test.orgId,
    test_path: test.testPath,
    reason: form.reason ?? "",
    ...(form.owner ? { owner: form.owner } : {}),
    expires_in_s: Number.isFinite(days) ? Math.round(days * 86_400) : -1,
  });
  if (!input.success) {
    const issue = input.error.issues[0];
    throw new QgjobError("invalid_request", `${issue?.path.join(".")}: ${issue?.message}`);
  }
  return input.data;
}

/** A test's page and its forms: same origin, a `submit` token, then back to the test's page. */
function testPages(readers: FastifyInstance, deps: RouteDeps) {
  async function testOr404(req: FastifyRequest, reply: FastifyReply) {
    const params = IdParams.safeParse(req.params);
    const test = params.success
      ? await deps.store.getTest(params.data.id, req.caller, deps.clock())
      : null;
    if (!test) {
      send(reply, errorPage(req.viewer, "Not found", "No such test."), 404);
      return null;
    }
    return test;
  }

  readers.get("/tests/:id", hidden, async (req, reply) => {
    const test = await testOr404(req, reply);
    if (!test) return reply;
    return send(reply, testPage({ viewer: req.viewer, test: presentTestDetail(test) }));
  });

  function testAction(
    path: string,
    act: (
      test: { orgId: string; testPath: string },
      form: Record<string, string>,
      caller: Caller,
    ) => Promise<unknown>,
  ) {
    readers.post(path, hidden, async (req, reply) => {
      const refused = refuseForm(req, reply);
      if (refused) return refused;
      const test = await testOr404(req, reply);
      if (!test) return reply;
      await act(test, (req.body ?? {}) as Record<string, string>, req.caller);
      return reply.redirect(`/tests/${test.id}`, 303);
    });
  }
  testAction("/tests/:id/quarantine", (test, form, caller) =>
    deps.tests.quarantine(caller, quarantineRequest(test, form)),
  );
  testAction("/tests/:id/quarantine/end", (test, _form, caller) =>
    deps.tests.unquarantine(caller, test.orgId, test.testPath),
  );
}

function queueAndAgentPages(readers: FastifyInstance, { store, clock }: RouteDeps) {
  readers.get("/queue", hidden, async (req, reply) => {
    const now = clock();
    const [overview, next] = await Promise.all([
      store.queueOverview(req.caller, now),
      store.previewNextLeases(req.caller, now),
    ]);
    return send(reply, queuePage({ viewer: req.viewer, queue: presentQueue(overview, now), next }));
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
}
