export type {
  AgentView,
  Decision,
  DecisionReason,
  Group,
  GroupingStrategy,
  QueuedJob,
  SchedulerConfig,
  SchedulingInput,
  Target,
} from "./types.js";
export { TARGETS } from "./types.js";
export { byAppVersion, byAppVersionAndDevice, groupingStrategies, groupJobs } from "./grouping.js";
export { DEFAULT_SCHEDULER_CONFIG, decide } from "./policy.js";
export { decayUsage, ewma, expectedDuration } from "./usage.js";
