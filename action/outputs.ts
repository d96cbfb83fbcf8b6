/**
 * The step's outputs. `run-id` and `run-url` are set as soon as the run is submitted (also with
 * wait: false, see track.ts); the rest once the wait is over.
 */
import type { RunWithJobs } from "../api/schemas.js";
import { tally } from "../report/tally.js";

export type OutputName =
  "run-id" | "run-url" | "status" | "passed" | "failed" | "flaky" | "junit-path";

/** Every output action.yml declares. */
export const OUTPUT_NAMES: readonly OutputName[] = [
  "run-id",
  "run-url",
  "status",
  "passed",
  "failed",
  "flaky",
  "junit-path",
];

/** `failed` counts failed, errored and timed-out tests; `passed` includes flaky passes. */
export function resultOutputs(
  run: RunWithJobs,
  status: string,
  junitPath: string | null,
): Record<Exclude<OutputName, "run-url">, string> {
  const t = tally(run.jobs);
  return {
    "run-id": run.id,
    status,
    passed: String(t.passed),
    failed: String(t.failed),
    flaky: String(t.flaky),
    "junit-path": junitPath ?? "",
  };
}

export function setOutputs(
  values: Partial<Record<OutputName, string>>,
  set: (name: string, value: string) => void,
): void {
  for (const [name, value] of Object.entries(values)) set(name, value);
}
