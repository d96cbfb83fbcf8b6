/** The agent side: register, heartbeat, lease (long-poll), start, result, release. */
import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  Agent,
  ErrorBody,
  HeartbeatRequest,
  HeartbeatResponse,
  IdParams,
  Job,
  Lease,
  LeaseJobParams,
  LeaseParams,
  LeaseRequest,
  RegisterAgentRequest,
  ReleaseResponse,
  ResultRequest,
  ResultResponse,
  StartJobRequest,
} from "../../../api/schemas.js";
import { isResultStatus } from "../../../api/status.js";
import { notFound } from "../../errors.js";
import type { Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { longPoll } from "../long-poll.js";
import { presentAgent, presentJob, presentLease } from "../../present.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

export function agentRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock, metrics } = deps;
  const ttlMs = store.options.leaseTtlMs;

  /** The lease, if the caller may act for its agent; otherwise it does not exist for them. */
  async function leaseOf(caller: Caller, leaseId: string) {
    const lease = await store.getLease(leaseId);
    if (!lease || !(await store.getAgent(lease.agentId, caller, clock()))) {
      throw notFound("lease", leaseId);
    }
    return lease;
  }

  async function agentOf(caller: Caller, agentId: string) {
    const agent = await store.getAgent(agentId, caller, clock());
    if (!agent) throw notFound("agent", agentId);
    return agent;
  }

  r.post(
    "/api/v1/agents",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Register an agent (again under the same name after a restart)",
        tags: ["agents"],
        body: RegisterAgentRequest,
        response: { 200: Agent, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const b = req.body;
      const now = clock();
      const agent = await store.registerAgent(
        {
          name: b.name,
          target: b.target,
          device: b.device ?? null,
          labels: b.labels,
          installed: b.installed,
        },
        caller,
        now,
      );
      return presentAgent(agent, now, ttlMs);
    },
  );

  r.get(
    "/api/v1/agents",
    {
      config: { scope: "read" },
      schema: {
        summary: "List agents",
        tags: ["agents"],
        response: { 200: z.object({ items: z.array(Agent) }), ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const now = clock();
      return {
        items: (await store.listAgents(caller, now)).map((a) => presentAgent(a, now, ttlMs)),
      };
    },
  );

  r.get(
    "/api/v1/agents/:id",
    {
      config: { scope: "read" },
      schema: {
        summary: "Get an agent",
        tags: ["agents"],
        params: IdParams,
        response: { 200: Agent, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      return presentAgent(await agentOf(caller, req.params.id), clock(), ttlMs);
    },
  );

  r.post(
    "/api/v1/agents/:id/heartbeat",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Keep the agent (and its lease) alive; learn which of its jobs to stop",
        tags: ["agents"],
        params: IdParams,
        body: HeartbeatRequest,
        response: { 200: HeartbeatResponse, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      await agentOf(caller, req.params.id);
      const beat = await store.heartbeat(req.params.id, req.body.lease_id ?? null, clock());
      return {
        lease_expires_at: beat.lease ? new Date(beat.lease.expiresAt).toISOString() : null,
        cancel_job_ids: beat.cancelJobIds,
      };
    },
  );

  r.post(
    "/api/v1/agents/:id/lease",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Ask for a batch of work; waits up to wait_s for some (204 when none came)",
        tags: ["agents"],
        params: IdParams,
        body: LeaseRequest,
        response: { 200: Lease, 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const caller = req.caller;
      await agentOf(caller, req.params.id);
      const grant = await longPoll(
        deps,
        reply.raw,
        req.body.wait_s * 1000,
        () => store.claimLease(req.params.id, clock()),
        (grant) => grant !== null,
        () => "work",
      );
      if (!grant) return reply.code(204).send(null);
      metrics.leases.inc({ target: grant.lease.target, reason: grant.reason });
      if (grant.lease.install) metrics.installs.inc({ target: grant.lease.target });
      req.log.info(
        {
          lease: grant.lease.id,
          agent: req.params.id,
          group: grant.lease.groupKey,
          jobs: grant.jobs.length,
          reason: grant.reason,
        },
        "lease granted",
      );
      return presentLease(grant, ttlMs / 3000);
    },
  );

  r.post(
    "/api/v1/leases/:lease_id/jobs/:job_id/start",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Mark a leased job as running",
        tags: ["leases"],
        params: LeaseJobParams,
        body: StartJobRequest,
        response: { 200: Job, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      await leaseOf(caller, req.params.lease_id);
      return presentJob(
        await store.startJob(req.params.lease_id, req.params.job_id, req.body.attempt, clock()),
      );
    },
  );

  r.post(
    "/api/v1/leases/:lease_id/jobs/:job_id/result",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Report one attempt's result; only the lease holding the job may",
        tags: ["leases"],
        params: LeaseJobParams,
        body: ResultRequest,
        response: { 200: ResultResponse, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      await leaseOf(caller, req.params.lease_id);
      const out = await store.reportResult(
        req.params.lease_id,
        req.params.job_id,
        req.body,
        clock(),
      );
      if (!out.duplicate) {
        if (isResultStatus(out.job.status) && !out.retry) {
          metrics.outcomes.inc({ status: out.job.status });
        }
        if (out.job.status === "queued") metrics.requeues.inc();
      }
      return { job: presentJob(out.job), retry: out.retry };
    },
  );

  r.post(
    "/api/v1/leases/:lease_id/release",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Give a lease back; unstarted jobs return to the queue at no cost",
        tags: ["leases"],
        params: LeaseParams,
        response: { 200: ReleaseResponse, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      await leaseOf(caller, req.params.lease_id);
      return { requeued: await store.releaseLease(req.params.lease_id, clock()) };
    },
  );
}
