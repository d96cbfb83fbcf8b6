/**
 * The scheduler's vocabulary. Everything here is plain data: the store gathers it inside its
 * claim transaction, the policy turns it into a decision, and the simulator in bench/ feeds it
 * the same shapes. No I/O and no clock: `now` is always passed in.
 */

import type { Target } from "../../api/targets.js";

export { TARGETS, type Target } from "../../api/targets.js";

/** A queued job, as much of it as scheduling needs. */
export interface QueuedJob {
  id: string;
  orgId: string;
  appVersionId: string;
  target: Target;
  /** Device the job asked for (name or selector); null runs on any device of the target. */
  device: string | null;
  repo: string | null;
  tags: readonly string[];
  testPath: string;
  /** Higher runs first. */
  priority: number;
  /** When the job was first submitted (ms). Waiting is measured from here, across requeues. */
  queuedAt: number;
  /** Expected run time (ms): the test file's EWMA, or the configured default when unknown. */
  expectedMs: number;
}

/** The agent asking for work. */
export interface AgentView {
  id: string;
  target: Target;
  device: string | null;
  /** App versions installed on the device, most recent first: installed[0] is what it runs now. */
  installed: readonly string[];
}

/** A set of queued jobs that one device can run after a single install. */
export interface Group {
  key: string;
  orgId: string;
  appVersionId: string;
  target: Target;
  /** Longest expected first, within the highest priority first. */
  jobs: QueuedJob[];
  priority: number;
  oldestQueuedAt: number;
  workMs: number;
}

export interface SchedulingInput {
  now: number;
  agent: AgentView;
  /** Queued jobs this agent may run (target, org and device already filtered by the store). */
  queued: readonly QueuedJob[];
  /** Recent device time per org (ms, already decayed to `now`); a missing org has used none. */
  orgUsageMs: ReadonlyMap<string, number>;
  /** Live agents of this target with no lease, counting the one asking. */
  idleAgents: IdleAgents;
  /**
   * The fleet's devices of this target and whom they work for now: read for starving orgs below
   * their fair share, and for how far a batch spreads.
   */
  fleet: FleetShare;
}

/**
 * Live fleet agents of the asking agent's target, busy or idle, and how many of them hold a
 * lease of each org. An org's fair share is the live agents over the orgs with work.
 */
export interface FleetShare {
  live: number;
  busyByOrg: ReadonlyMap<string, number>;
}

/**
 * Idle agents by whom they serve: fleet agents take any org's work, an org's own agents only
 * that org's. A group can be split only across the agents that could take it.
 */
export interface IdleAgents {
  fleet: number;
  byOrg: ReadonlyMap<string, number>;
}

export type DecisionReason = "starving" | "priority" | "fair_share" | "affinity" | "oldest";

export interface Decision {
  groupKey: string;
  orgId: string;
  appVersionId: string;
  target: Target;
  /** The batch, in the order the agent should run it. */
  jobIds: string[];
  expectedMs: number;
  /** True when the agent does not have the app version yet and must install it. */
  install: boolean;
  /** The objective that made this group win over the runner-up (for logs and the queue view). */
  reason: DecisionReason;
}

export interface SchedulerConfig {
  /** A job that has waited this long outranks everything else (objective 1). */
  starvationMs: number;
  /** Orgs whose recent usage differs by less than this are treated as equal (objective 3). */
  fairShareSlackMs: number;
  /** Expected cost of installing a build, per target. */
  installMs: Record<Target, number>;
  /** Split a group across devices only when its work exceeds this many installs (batch sizing). */
  splitFactor: number;
  maxBatchJobs: number;
  defaultTestMs: number;
  ewmaAlpha: number;
  usageHalfLifeMs: number;
}

export interface GroupingStrategy {
  name: string;
  /**
   * The group of a job. It must include the org, app version and target, and may read only
   * those and device, repo, tags and priority (what never changes while a job is queued): the
   * stores write it with each job and rank groups from summaries kept by it (heads.ts).
   */
  keyOf(job: QueuedJob): string;
}
