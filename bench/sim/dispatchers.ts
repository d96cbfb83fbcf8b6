/**
 * Who decides what an idle device runs next: qgjob's real store and scheduler, or a FIFO
 * baseline that hands out one job at a time in arrival order.
 */
import { join } from "node:path";
import { SubmitRunRequest } from "../../api/schemas.js";
import { groupingStrategies } from "../../app/scheduler/grouping.js";
import { DEFAULT_SCHEDULER_CONFIG } from "../../app/scheduler/policy.js";
import type { Target } from "../../app/scheduler/types.js";
import { SqliteStore } from "../../app/store/sqlite/engine.js";
import type { Dispatcher, JobRef } from "./engine.js";
import type { Push, SimJob, Workload } from "./workloads.js";

const WEEK_MS = 7 * 24 * 3600 * 1000;

/**
 * qgjob itself: the SQLite store (a real file) and the configured grouping strategy. Simulated
 * agents never die, so the lease TTL is long enough that heartbeats need no simulating.
 */
export function qgjob(workload: Workload, grouping: string, dir: string): Dispatcher {
  const strategy = groupingStrategies[grouping];
  if (!strategy) {
    throw new Error(
      `unknown grouping "${grouping}": one of ${Object.keys(groupingStrategies).join(", ")}`,
    );
  }
  const store = new SqliteStore(join(dir, `sim-${workload.name}-${grouping}.db`), {
    leaseTtlMs: WEEK_MS,
    avoidAgentMs: 60_000,
    timeoutGraceMs: 60_000,
    scheduler: { ...DEFAULT_SCHEDULER_CONFIG, installMs: workload.installMs },
    grouping: strategy,
  });
  const simJobs = new Map<string, { push: Push; job: SimJob }>();
  const leaseOf = new Map<string, string>();
  return {
    async addAgent(target, name, now) {
      const agent = await store.registerAgent(
        { name, target, device: null, labels: [], installed: [] },
        { orgId: null },
        now,
      );
      return agent.id;
    },
    async submit(push, now) {
      // A run has one target and one set of tags: a push becomes one run per (target, tag).
      const runs = new Map<string, SimJob[]>();
      for (const job of push.jobs) {
        const key = `${job.target}|${job.tags.join(",")}`;
        runs.set(key, [...(runs.get(key) ?? []), job]);
      }
      for (const jobs of runs.values()) {
        const byPath = new Map(jobs.map((j) => [j.testPath, j]));
        const input = SubmitRunRequest.parse({
          org_id: push.orgId,
          app_version_id: push.appVersionId,
          target: jobs[0]!.target,
          tags: jobs[0]!.tags,
          repo: push.repo,
          tests: jobs.map((j) => j.testPath),
        });
        const submitted = await store.submitRun(input, {}, now);
        for (const j of submitted.jobs) simJobs.set(j.id, { push, job: byPath.get(j.testPath)! });
      }
    },
    async claim(agent, now) {
      const grant = await store.claimLease(agent.id, now);
      if (!grant) return null;
      const jobs = grant.jobs.map((j) => {
        leaseOf.set(j.id, grant.lease.id);
        return { id: j.id, attempt: j.attempts, ...simJobs.get(j.id)! };
      });
      return { install: grant.lease.install, jobs };
    },
    async start(ref, now) {
      await store.startJob(leaseOf.get(ref.id)!, ref.id, ref.attempt, now);
    },
    async finish(ref, failed, durationMs, now) {
      const outcome = await store.reportResult(
        leaseOf.get(ref.id)!,
        ref.id,
        {
          attempt: ref.attempt,
          status: failed ? "error" : "passed",
          duration_ms: durationMs,
          artifacts: [],
        },
        now,
      );
      return { ended: outcome.job.status !== "queued" };
    },
    close: () => store.close(),
  };
}

/** Infrastructure errors are retried up to the store's default of 3 attempts. */
const MAX_ATTEMPTS = 3;

/**
 * One job per device at a time, oldest first. `reinstall` installs before every job, as
 * AppWright does on its own; otherwise the install is skipped when the device has the version.
 */
export function fifo(reinstall: boolean): Dispatcher {
  const queues: Record<Target, JobRef[]> = { emulator: [], device: [], browserstack: [] };
  const installed = new Map<string, Set<string>>();
  let nextId = 0;
  return {
    async addAgent(target, name) {
      installed.set(name, new Set());
      return name;
    },
    async submit(push) {
      for (const job of push.jobs) {
        queues[job.target].push({ id: String(nextId++), attempt: 1, push, job });
      }
    },
    async claim(agent) {
      const ref = queues[agent.target].shift();
      if (!ref) return null;
      const versions = installed.get(agent.id)!;
      const install = reinstall || !versions.has(ref.push.appVersionId);
      versions.add(ref.push.appVersionId);
      return { install, jobs: [ref] };
    },
    async start() {},
    async finish(ref, failed) {
      if (!failed || ref.attempt >= MAX_ATTEMPTS) return { ended: true };
      // Back to the head of the queue: it is the oldest job there.
      queues[ref.job.target].unshift({ ...ref, attempt: ref.attempt + 1 });
      return { ended: false };
    },
    async close() {},
  };
}
