/**
 * What the run means for the step: pass or fail, the `status` output, and the one line that
 * says why. A failed, errored or timed-out test fails the step, unless its test was quarantined
 * (then the line lists it and when its quarantine ends); a flaky pass (failed, then passed on a
 * retry) passes unless fail-on-flaky is set; a cancelled run fails; so does a wait that ran out of
 * timeout-minutes.
 */
import type { RunWithJobs } from "../api/schemas.js";
import { failsRun, isQuarantined } from "../api/status.js";
import { formatTally, tally } from "../report/tally.js";
import type { Signal } from "./cancel.js";
import { plural, quarantineEnd } from "../report/text.js";

export interface Outcome {
  run: RunWithJobs;
  /** timeout-minutes ran out before the run ended (it was then cancelled). */
  timedOut: boolean;
  /** The signal that stopped the step (the run was then cancelled). */
  signal: Signal | null;
  elapsedMs: number;
}

export interface Verdict {
  ok: boolean;
  /** The `status` output: the run's status, or `timed_out`. */
  status: string;
  /** Short, for the summary's heading: `passed`, `2 failed`, … */
  headline: string;
  /** One line for the log (and ::error:: when not ok). */
  message: string;
}

/** `tests/a.spec.ts, tests/b.spec.ts and 3 more` */
export function listTests(paths: readonly string[], max = 3): string {
  const shown = paths.slice(0, max).join(", ");
  return paths.length > max ? `${shown} and ${paths.length - max} more` : shown;
}

export function verdict(
  outcome: Outcome,
  opts: { failOnFlaky: boolean; timeoutMinutes: number },
): Verdict {
  const { run } = outcome;
  const t = tally(run.jobs);
  const said = { what: `run ${run.id}`, counts: formatTally(t) };
  return (
    stepStopped(outcome, opts.timeoutMinutes, said) ??
    runFailed(run, t.total, said) ??
    runPassed(run, opts.failOnFlaky, said)
  );
}

/** How every line names the run and sums up its jobs. */
interface Said {
  what: string;
  counts: string;
}

/** The step ended before the run did: timeout-minutes ran out or it was stopped. */
function stepStopped(
  outcome: Outcome,
  timeoutMinutes: number,
  { what, counts }: Said,
): Verdict | null {
  if (outcome.timedOut) {
    return {
      ok: false,
      status: "timed_out",
      headline: "timed out",
      message: `${what} did not finish within timeout-minutes (${timeoutMinutes}); cancelled it on the server (${counts})`,
    };
  }
  if (outcome.signal) {
    return {
      ok: false,
      status: outcome.run.status,
      headline: "cancelled",
      message: `${what} cancelled: the step was stopped (${outcome.signal}), so the run was cancelled on the server (${counts})`,
    };
  }
  return null;
}

function runFailed(run: RunWithJobs, total: number, { what, counts }: Said): Verdict | null {
  const failed = run.jobs.filter(failsRun);
  if (failed.length > 0) {
    const label = failed.every((j) => j.status === "failed") ? "failed" : "failed or could not run";
    return {
      ok: false,
      status: run.status,
      headline: `${failed.length} failed`,
      message: `${plural(failed.length, "test")} of ${total} ${label} in ${what}: ${listTests(failed.map((j) => j.test_path))}`,
    };
  }
  if (run.status === "cancelled") {
    return {
      ok: false,
      status: run.status,
      headline: "cancelled",
      message: `${what} was cancelled on the server (${counts})`,
    };
  }
  if (run.status !== "passed") {
    return {
      ok: false,
      status: run.status,
      headline: run.status,
      message: `${what} ended ${run.status} (${counts})`,
    };
  }
  return null;
}

/** A passed run: failed by its flaky tests when fail-on-flaky is set; its quarantines listed. */
function runPassed(run: RunWithJobs, failOnFlaky: boolean, { what, counts }: Said): Verdict {
  const flaky = run.jobs.filter((j) => j.flaky);
  const quarantined = run.jobs.filter(isQuarantined);
  const excused =
    quarantined.length === 0
      ? ""
      : `; quarantined (failing no run): ${quarantined.map((j) => `${j.test_path} failed, quarantined until ${quarantineEnd(j.quarantined_until ?? "")}`).join(", ")}`;
  if (flaky.length > 0 && failOnFlaky) {
    return {
      ok: false,
      status: run.status,
      headline: `${flaky.length} flaky`,
      message: `${what} passed, but ${plural(flaky.length, "test was", "tests were")} flaky and fail-on-flaky is set: ${listTests(flaky.map((j) => j.test_path))}`,
    };
  }
  return {
    ok: true,
    status: run.status,
    headline: [
      "passed",
      ...(flaky.length > 0 ? [`(${flaky.length} flaky)`] : []),
      ...(quarantined.length > 0 ? [`(${quarantined.length} quarantined)`] : []),
    ].join(" "),
    message: `${what} passed: ${counts}${excused}`,
  };
}
