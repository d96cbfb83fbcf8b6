/**
 * What timing a cancel of a running test needs, shared by test/e2e/cancel.test.ts and the
 * bench's live section: a shell test that runs until killed and writes when TERM reaches it,
 * whether any of its processes is left, and waiting for a condition.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Bodies, Client } from "./harness.js";

/** True while a process whose command line contains `pattern` runs (pgrep -f). */
export function alive(pattern: string): boolean {
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim() !== "";
  } catch {
    return false;
  }
}

export async function until(check: () => boolean | Promise<boolean>, ms: number, pollMs = 10) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Writes `tests/<name>.sh` under `dir`: a test that runs until killed; on TERM it writes that
 * it died, as a real test's teardown would. Its child's command line carries `name` (for
 * alive()). Answers the test path (relative to `dir`) and the file it writes to.
 */
export function trapScript(dir: string, name: string): { path: string; out: string } {
  const path = `tests/${name}.sh`;
  const out = join(dir, `${name}.out`);
  writeFileSync(
    join(dir, path),
    [
      `trap 'echo died >> "${out}"; exit 143' TERM`,
      `"${process.execPath}" -e "setTimeout(() => {}, 120000)" ${name} &`,
      `echo started > "${out}"`,
      "wait",
      "",
    ].join("\n"),
  );
  return { path, out };
}

export interface CancelTiming {
  /** From sending the cancel request to no process of the test being left. */
  ms: number;
  /** What the test wrote: "started", then "died" if TERM reached it. */
  written: string;
  cancelStatus: number;
  /** The job's status once its processes are gone. */
  jobStatus: string;
}

/**
 * Submits a trapScript test through `submitVia` (an agent on target "device" running
 * `sh {test}` in `dir` must be there), waits for it to run, cancels its run through
 * `cancelVia` and times until its processes are gone (throws after `boundMs`).
 */
export async function timeCancel(
  dir: string,
  submitVia: Client<Bodies>,
  cancelVia: Client<Bodies>,
  name: string,
  boundMs: number,
): Promise<CancelTiming> {
  const { path, out } = trapScript(dir, name);
  const run = await submitVia.post("/api/v1/runs", {
    org_id: "acme",
    app_version_id: "v1",
    target: "device",
    tests: [path],
  });
  if (run.status !== 201) throw new Error(`submit: ${run.status} ${JSON.stringify(run.body)}`);
  await until(() => existsSync(out) && alive(name), 30_000);
  const asked = performance.now();
  const cancelled = await cancelVia.post(`/api/v1/runs/${run.body.id}/cancel`);
  await until(() => !alive(name), boundMs);
  const ms = performance.now() - asked;
  const job = await submitVia.get(`/api/v1/runs/${run.body.id}`);
  return {
    ms,
    written: readFileSync(out, "utf8"),
    cancelStatus: cancelled.status,
    jobStatus: job.body.jobs[0].status,
  };
}
