import { lowest } from "./extremes.js";
import { groupJobs } from "./grouping.js";
import type {
  Decision,
  DecisionReason,
  Group,
  GroupingStrategy,
  QueuedJob,
  SchedulerConfig,
  SchedulingInput,
} from "./types.js";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

export const DEFAULT_SCHEDULER_CONFIG: SchedulerConfig = {
  starvationMs: 15 * MINUTE,
  fairShareSlackMs: 2 * MINUTE,
  installMs: { emulator: 45 * SECOND, device: 60 * SECOND, browserstack: 90 * SECOND },
  splitFactor: 4,
  maxBatchJobs: 50,
  defaultTestMs: 60 * SECOND,
  ewmaAlpha: 0.3,
  usageHalfLifeMs: 15 * MINUTE,
};

/** One objective of the ranking: it keeps the candidate groups that are best at it. */
interface Objective {
  reason: DecisionReason;
  keepBest(groups: GroupHead[]): GroupHead[];
}

/**
 * Picks the group the asking agent should work on next and how much of it to take.
 * Pure: the same input always gives the same decision, so the store can call it inside its
 * claim transaction and the simulator can replay it.
 *
 * How many devices already work on a group is deliberately not an input: splitting a big group
 * sends several devices to it on purpose, and `idleAgents` already sizes each device's share.
 */
export function decide(
  input: SchedulingInput,
  config: SchedulerConfig,
  strategy: GroupingStrategy,
): Decision | null {
  const groups = groupJobs(input.queued, strategy);
  const choice = chooseGroup(groups, input, config);
  return choice && decideBatch(choice.group, choice, input, config);
}

/** A group without its jobs: all that ranking needs. */
export type GroupHead = Omit<Group, "jobs" | "workMs">;

/** What `chooseGroup` decided: the group, why, and over how many devices it may spread. */
export interface Choice<G extends GroupHead> {
  group: G;
  reason: DecisionReason;
  spread: number;
}

/**
 * The first half of `decide`, on group heads only, so that a store can rank every group from a
 * summary and then read the jobs of the chosen one alone. `heads` must be sorted by key (the
 * final tie-break keeps the first).
 */
export function chooseGroup<G extends GroupHead>(
  heads: G[],
  input: Omit<SchedulingInput, "queued">,
  config: SchedulerConfig,
): Choice<G> | null {
  if (heads.length === 0) return null;
  // A job queued at or before this instant has waited past the bound.
  const starvingSince = input.now - config.starvationMs;
  const missing = missingDevices(heads, input);
  const { group, reason } = rank(heads, objectives(input, config, starvingSince, missing));
  const idle = input.idleAgents.fleet + (input.idleAgents.byOrg.get(group.orgId) ?? 0);
  return {
    group,
    // Report starvation even when another starving group tied on age: it is what a user
    // watching the queue needs to know about this lease.
    reason: group.oldestQueuedAt <= starvingSince ? "starving" : reason,
    // An org short of its fair share may spread a group over the devices it lacks, not only the
    // idle ones: the shares not taken now stay queued, and fair share sends the next devices to
    // finish to them. A small org's push then runs on its share of the fleet, not on one device.
    spread: Math.max(idle, missing(group.orgId)),
  };
}

/** The second half of `decide`: the batch of the chosen group, with all its queued jobs. */
export function decideBatch(
  group: Group,
  choice: Omit<Choice<GroupHead>, "group">,
  input: Pick<SchedulingInput, "now" | "agent">,
  config: SchedulerConfig,
): Decision {
  const batch = batchOf(group, choice.spread, config, input.now - config.starvationMs);
  return {
    groupKey: group.key,
    orgId: group.orgId,
    appVersionId: group.appVersionId,
    target: group.target,
    jobIds: batch.map((job) => job.id),
    expectedMs: batch.reduce((sum, job) => sum + job.expectedMs, 0),
    install: !input.agent.installed.includes(group.appVersionId),
    reason: choice.reason,
  };
}

/**
 * Narrows the candidates objective by objective; the reason is the objective that left a
 * single group, i.e. the first one on which the winner beat the runner-up.
 *
 * Narrowing rather than sorting with a comparator because the fair-share slack is not
 * transitive (A ~ B and B ~ C while A beats C), which would make a sort depend on input
 * order. Comparing every org with the quietest one is well defined and, for two groups,
 * is exactly the pairwise rule.
 */
function rank<G extends GroupHead>(
  groups: G[],
  objectives: Objective[],
): { group: G; reason: DecisionReason } {
  let candidates = groups;
  let reason: DecisionReason = "oldest";
  for (const objective of objectives) {
    if (candidates.length === 1) break;
    candidates = objective.keepBest(candidates) as G[];
    reason = objective.reason;
  }
  const [group] = candidates;
  if (!group) throw new Error("ranking eliminated every group");
  return { group, reason };
}

function objectives(
  input: Omit<SchedulingInput, "queued">,
  config: SchedulerConfig,
  starvingSince: number,
  missing: (orgId: string) => number,
): Objective[] {
  const usageOf = (group: GroupHead) => input.orgUsageMs.get(group.orgId) ?? 0;
  const installed = input.agent.installed;
  return [
    {
      reason: "starving",
      // Non-starving groups score Infinity, so they only survive when nothing is starving. A
      // group of an org that already works on its fair share of devices is not neglected, just
      // long: letting it jump the queue would hand a big org's burst every device.
      keepBest: (groups) =>
        keepLowest(groups, (g) =>
          g.oldestQueuedAt <= starvingSince && missing(g.orgId) >= 0 ? g.oldestQueuedAt : Infinity,
        ),
    },
    { reason: "priority", keepBest: (groups) => keepLowest(groups, (g) => -g.priority) },
    {
      reason: "fair_share",
      keepBest: (groups) => {
        const quietest = lowest(groups.map(usageOf));
        return groups.filter((g) => usageOf(g) <= quietest + config.fairShareSlackMs);
      },
    },
    {
      reason: "affinity",
      // Staying on the version the device runs now saves an install and keeps a warm app.
      keepBest: (groups) =>
        keepLowest(groups, (g) =>
          installed[0] === g.appVersionId ? 0 : installed.includes(g.appVersionId) ? 1 : 2,
        ),
    },
    { reason: "oldest", keepBest: (groups) => keepLowest(groups, (g) => g.oldestQueuedAt) },
    // groupJobs sorts groups by key and filtering keeps that order: the first is the
    // deterministic tie-break.
    { reason: "oldest", keepBest: (groups) => groups.slice(0, 1) },
  ];
}

function keepLowest(groups: GroupHead[], score: (group: GroupHead) => number): GroupHead[] {
  const best = lowest(groups.map(score));
  return groups.filter((group) => score(group) === best);
}

/**
 * How many devices each org lacks to reach its fair share of this target's fleet: the live
 * fleet agents over the orgs that have work queued or running.
 */
function missingDevices(
  groups: GroupHead[],
  input: Omit<SchedulingInput, "queued">,
): (orgId: string) => number {
  const { live, busyByOrg } = input.fleet;
  const orgs = new Set(groups.map((g) => g.orgId));
  for (const [org, busy] of busyByOrg) if (busy > 0) orgs.add(org);
  return (orgId) => Math.floor(live / orgs.size - (busyByOrg.get(orgId) ?? 0));
}

/**
 * A small group stays whole: splitting it would cost more in installs than it saves. A big
 * one is cut into one share per device it may spread over (at most one per `splitFactor`
 * installs of work), so that the devices finish at about the same time.
 */
function batchOf(
  group: Group,
  devices: number,
  config: SchedulerConfig,
  starvingSince: number,
): QueuedJob[] {
  // Starving jobs go first so that the wait bound holds even when the group is split and
  // they would otherwise sort into a later batch.
  const starving = (job: QueuedJob) => job.queuedAt <= starvingSince;
  const ordered = [...group.jobs.filter(starving), ...group.jobs.filter((job) => !starving(job))];

  const splitAboveMs = config.splitFactor * config.installMs[group.target];
  if (group.workMs <= splitAboveMs) return ordered.slice(0, config.maxBatchJobs);

  const ways = clamp(Math.floor(group.workMs / splitAboveMs), 1, Math.max(1, devices));
  const shareMs = group.workMs / ways;
  const batch: QueuedJob[] = [];
  let batchMs = 0;
  for (const job of ordered) {
    if (batch.length >= config.maxBatchJobs || batchMs >= shareMs) break;
    batch.push(job);
    batchMs += job.expectedMs;
  }
  return batch;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
