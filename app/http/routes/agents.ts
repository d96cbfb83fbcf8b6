/** The agent side: register, heartbeat, lease (long-poll), start, result, release. */
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  Agent,
  AGENT_KEY_HEADER,
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
  RegisteredAgent,
  ReleaseResponse,
  ResultRequest,
  ResultResponse,
  StartJobRequest,
} from "../../../api/schemas.js";
import { LeaseDevice, LeaseDeviceRequest } from "../../../api/devices.js";
import { notFound } from "../../errors.js";
import { workWait } from "../../store/change-feed.js";
import { recordLeaseDevice } from "../../lease-devices.js";
import type { LeaseHolder, LeaseHolderCheck } from "../../store/store.js";
import { hashToken, newSecret } from "../../tokens.js";
import type { Caller } from "../auth.js";
import type { RouteDeps } from "../deps.js";
import { longPoll } from "../long-poll.js";
import { presentAgent, presentJob, presentLease, presentLeaseDevice } from "../../present.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/**
 * Whether the request carries the agent's key. Without it a holder of the fleet's agent token
 * could start, finish or release any other agent's lease. An agent registered before keys
 * existed (no hash yet) is let through until it registers again.
 */
function holdsKey(agent: LeaseHolder, req: FastifyRequest): boolean {
  if (agent.keyHash === null) return true;
  const sent = req.headers[AGENT_KEY_HEADER];
  if (typeof sent !== "string") return false;
  return timingSafeEqual(Buffer.from(hashToken(sent)), Buffer.from(agent.keyHash));
}

/** Whether the caller may act for a lease's agent: its org (or the fleet's), with its key. */
const holderCheck =
  (req: FastifyRequest): LeaseHolderCheck =>
  (agent) =>
    (req.caller.orgId === null || agent.orgId === req.caller.orgId) && holdsKey(agent, req);

/** The lease, if the caller may act for its agent; otherwise it does not exist for them. */
export async function leaseOfCaller(deps: RouteDeps, req: FastifyRequest, leaseId: string) {
  const lease = await deps.store.getLease(leaseId);
  const agent = lease ? await deps.store.getAgent(lease.agentId, req.caller, deps.clock()) : null;
  if (!lease || !agent || !holderCheck(req)(agent)) throw notFound("lease", leaseId);
  return lease;
}

async function agentOf(deps: RouteDeps, caller: Caller, agentId: string) {
  const agent = await deps.store.getAgent(agentId, caller, deps.clock());
  if (!agent) throw notFound("agent", agentId);
  return agent;
}

/** The agent, for a call made as that agent: with the key its registration was given. */
async function asAgent(deps: RouteDeps, req: FastifyRequest, agentId: string) {
  const agent = await agentOf(deps, req.caller, agentId);
  if (!holdsKey(agent, req)) throw notFound("agent", agentId);
  return agent;
}

export function agentRoutes(app: FastifyInstance, deps: RouteDeps) {
  registerRoute(app, deps);
  agentReadRoutes(app, deps);
  agentStateRoutes(app, deps);
  leaseGrantRoute(app, deps);
  leasedJobRoutes(app, deps);
  leaseRoutes(app, deps);
}

function registerRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;
  const ttlMs = store.options.leaseTtlMs;

  r.post(
    "/api/v1/agents",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Register an agent (again under the same name after a restart)",
        operationId: "registerAgent",
        tags: ["agents"],
        body: RegisterAgentRequest,
        response: { 200: RegisteredAgent, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      const b = req.body;
      const now = clock();
      const key = newSecret("qga_");
      const agent = await store.registerAgent(
        {
          name: b.name,
          target: b.target,
          device: b.device ?? null,
          labels: b.labels,
          installed: b.installed,
          keyHash: hashToken(key),
        },
        caller,
        now,
      );
      return { ...presentAgent(agent, now, ttlMs), key };
    },
  );
}

function agentReadRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;
  const ttlMs = store.options.leaseTtlMs;

  r.get(
    "/api/v1/agents",
    {
      config: { scope: "read" },
      schema: {
        summary: "List agents",
        operationId: "listAgents",
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
        operationId: "getAgent",
        tags: ["agents"],
        params: IdParams,
        response: { 200: Agent, ...errors },
      },
    },
    async (req) => {
      const caller = req.caller;
      return presentAgent(await agentOf(deps, caller, req.params.id), clock(), ttlMs);
    },
  );
}

function agentStateRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = deps;
  const ttlMs = store.options.leaseTtlMs;

  r.post(
    "/api/v1/agents/:id/undrain",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Undrain an agent: it takes leases again, its error count starts afresh",
        operationId: "undrainAgent",
        tags: ["agents"],
        params: IdParams,
        response: { 200: Agent, ...errors },
      },
    },
    async (req) => {
      const now = clock();
      const agent = await store.undrainAgent(req.params.id, req.caller, now);
      if (!agent) throw notFound("agent", req.params.id);
      req.log.info({ agent_id: agent.id }, "agent undrained");
      return presentAgent(agent, now, ttlMs);
    },
  );

  r.post(
    "/api/v1/agents/:id/heartbeat",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Keep the agent (and its lease) alive; learn which of its jobs to stop",
        operationId: "heartbeatAgent",
        tags: ["agents"],
        params: IdParams,
        body: HeartbeatRequest,
        response: { 200: HeartbeatResponse, ...errors },
      },
    },
    async (req) => {
      await asAgent(deps, req, req.params.id);
      const beat = await store.heartbeat(req.params.id, req.body.lease_id ?? null, clock());
      return {
        lease_expires_at: beat.lease ? new Date(beat.lease.expiresAt).toISOString() : null,
        cancel_job_ids: beat.cancelJobIds,
      };
    },
  );
}

function leaseGrantRoute(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock, metrics } = deps;
  const ttlMs = store.options.leaseTtlMs;

  r.post(
    "/api/v1/agents/:id/lease",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Ask for a batch of work; waits up to wait_s for some (204 when none came)",
        operationId: "leaseJobs",
        tags: ["agents"],
        params: IdParams,
        body: LeaseRequest,
        response: { 200: Lease, 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      // Until it is known whom the poll waits as, any work wakes it.
      let waitFor: string | null = null;
      const grant = await longPoll(
        deps,
        reply.raw,
        req.body.wait_s * 1000,
        async () => {
          // The agent and the caller's right to act for it are checked in the claim's own write.
          const claimed = await store.claimLease(req.params.id, clock(), holderCheck(req));
          if (claimed || waitFor !== null || req.body.wait_s === 0) return claimed;
          // It will wait: only for work this agent could take (change-feed.ts, workWait).
          const agent = await store.getAgent(req.params.id, req.caller, clock());
          waitFor = agent ? workWait(agent) : "work";
          return claimed;
        },
        (grant) => grant !== null,
        () => waitFor ?? "work",
        () => deps.auth.recheck(req),
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
      return presentLease(grant, ttlMs / 3000, grant.inputs);
    },
  );
}

function leasedJobRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { store, clock, runs } = deps;

  r.post(
    "/api/v1/leases/:lease_id/jobs/:job_id/start",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Mark a leased job as running",
        operationId: "startJob",
        tags: ["leases"],
        params: LeaseJobParams,
        body: StartJobRequest,
        response: { 200: Job, ...errors },
      },
    },
    async (req) => {
      const { lease_id, job_id } = req.params;
      return presentJob(
        await store.startJob(lease_id, job_id, req.body.attempt, clock(), holderCheck(req)),
      );
    },
  );

  r.post(
    "/api/v1/leases/:lease_id/jobs/:job_id/result",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Report one attempt's result; only the lease holding the job may",
        operationId: "reportJobResult",
        tags: ["leases"],
        params: LeaseJobParams,
        body: ResultRequest,
        response: { 200: ResultResponse, ...errors },
      },
    },
    async (req) => {
      const { lease_id, job_id } = req.params;
      const out = await runs.reportResult(lease_id, job_id, req.body, holderCheck(req));
      return { job: presentJob(out.job), retry: out.retry };
    },
  );
}

function leaseRoutes(app: FastifyInstance, deps: RouteDeps) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { runs } = deps;

  r.post(
    "/api/v1/leases/:lease_id/device",
    {
      config: { scope: "agent" },
      schema: {
        summary:
          "Report what the device did for the lease (installs, sessions, setup time) and what it holds now",
        operationId: "reportLeaseDevice",
        tags: ["leases"],
        params: LeaseParams,
        body: LeaseDeviceRequest,
        response: { 200: LeaseDevice, ...errors },
      },
    },
    async (req) => {
      const lease = await leaseOfCaller(deps, req, req.params.lease_id);
      return presentLeaseDevice(await recordLeaseDevice(deps, lease, req.body));
    },
  );

  r.post(
    "/api/v1/leases/:lease_id/release",
    {
      config: { scope: "agent" },
      schema: {
        summary: "Give a lease back; unstarted jobs return to the queue at no cost",
        operationId: "releaseLease",
        tags: ["leases"],
        params: LeaseParams,
        response: { 200: ReleaseResponse, ...errors },
      },
    },
    async (req) => {
      await leaseOfCaller(deps, req, req.params.lease_id);
      return { requeued: await runs.releaseLease(req.params.lease_id) };
    },
  );
}
