/**
 * The Action's inputs: read, defaulted and checked here, so that every mistake is one clear
 * line before anything is sent. The token is masked (`::add-mask::`) before anything else runs.
 *
 * The defaults below are the ones in action.yml (a test keeps the two equal). The runner fills
 * them in itself; they are repeated here so that an empty value (`org-id: ''`, an unset secret
 * passed through) means the default too, not an error three calls later.
 *
 * Two modes: submit (`tests`, and org-id) or wait for a run submitted earlier (`run-id`, e.g. by
 * a step with `wait: false`); the submission's inputs are not needed for the second.
 */
import { AppVersionId, DeviceName, OrgId, ResourceId, Tag, TARGETS } from "../api/schemas.js";
import type { Target } from "../api/targets.js";
import { parseDuration } from "../report/duration.js";
import { ActionError } from "./errors.js";

export const INPUT_DEFAULTS = {
  "working-directory": ".",
  bundle: "true",
  target: "emulator",
  priority: "5",
  retries: "0",
  wait: "true",
  "cancel-in-progress": "false",
  "timeout-minutes": "60",
  "fail-on-flaky": "false",
  "junit-path": "qgjob-junit.xml",
  "junit-attachments": "false",
} as const;

/** Every input action.yml declares, in its order. */
export const INPUT_NAMES = [
  "server-url",
  "api-token",
  "org-id",
  "app-version-id",
  "app-build",
  "tests",
  "working-directory",
  "bundle",
  "target",
  "device",
  "priority",
  "retries",
  "max-attempts",
  "test-timeout",
  "tags",
  "cancel-in-progress",
  "wait",
  "run-id",
  "timeout-minutes",
  "fail-on-flaky",
  "junit-path",
  "junit-attachments",
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

/** What a new run is asked for; empty or undefined when waiting for an earlier run (run-id). */
export interface SubmissionInputs {
  orgId: string;
  appVersionId: string;
  /** Test paths and globs as written, one per line (comments and blank lines dropped). */
  tests: string[];
  target: Target;
  device: string | undefined;
  priority: number;
  retries: number;
  /** Undefined: the server's default. */
  maxAttempts: number | undefined;
  /** Per-test time limit in seconds; undefined: the server's default. */
  testTimeoutS: number | undefined;
  tags: string[];
  /** The build file to upload, as given (relative to the workspace, or absolute). */
  appBuild: string | undefined;
  /** Pack working-directory as the run's test bundle. */
  bundle: boolean;
  /** Supersede the earlier runs of the same repo and ref (target, device). */
  cancelInProgress: boolean;
}

export interface ActionInputs extends SubmissionInputs {
  serverUrl: string;
  token: string;
  /** A run submitted earlier to wait for, instead of submitting one. */
  runId: string | undefined;
  /** As given: relative to the workspace (checked against it when the tests are resolved). */
  workingDirectory: string;
  wait: boolean;
  timeoutMinutes: number;
  failOnFlaky: boolean;
  /** As given (relative to the workspace, or absolute). */
  junitPath: string;
  /** Download failed and flaky tests' evidence beside the report, as its attachments. */
  junitAttachments: boolean;
}

/** Bad or missing inputs; the message is one line naming each. */
export class InputError extends ActionError {
  override name = "InputError";
}

export type ReadInput = (name: InputName) => string;

const HINTS: Partial<Record<InputName, string>> = {
  "server-url": "the qgjob server's URL, e.g. ${{ secrets.QGJOB_URL }}",
  "api-token":
    "a qgjob token with the submit and read scopes, e.g. ${{ secrets.QGJOB_TOKEN }}; secrets are empty in workflows run from forks",
  "org-id": "your qgjob organization, e.g. qualgent",
  tests: "test files or globs, one per line; or run-id to wait for a run submitted earlier",
};

/**
 * Reads and checks every input. `mask` is called with the token first of all (core.setSecret),
 * and with credentials found in server-url. `env` gives GITHUB_SHA, the fallback of
 * app-version-id.
 */
export function readInputs(
  read: ReadInput,
  env: NodeJS.ProcessEnv,
  mask: (secret: string) => void,
): ActionInputs {
  const token = read("api-token").trim();
  if (token) mask(token);
  const r = new InputReader(read);
  const serverUrl = readServerUrl(r, mask);
  r.need("api-token", token);
  const runId = r.optional("run-id", ResourceId);
  const submission = runId === undefined ? readSubmission(r, env) : waitOnly(r);
  const wait = r.boolean("wait");
  if (runId !== undefined && !wait) r.problem("run-id is for waiting: drop wait: false");
  const inputs: ActionInputs = {
    ...submission,
    serverUrl,
    token,
    runId,
    workingDirectory: r.get("working-directory"),
    wait,
    timeoutMinutes: r.minutes("timeout-minutes"),
    failOnFlaky: r.boolean("fail-on-flaky"),
    junitPath: r.get("junit-path"),
    junitAttachments: r.boolean("junit-attachments"),
  };
  r.finish();
  return inputs;
}

/** Credentials in the URL are masked and refused, never printed: the token goes in api-token. */
function readServerUrl(r: InputReader, mask: (secret: string) => void): string {
  const text = r.need("server-url", r.get("server-url"));
  if (!text) return "";
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    r.problem("server-url: not a URL (expected e.g. https://qgjob.example.com)");
    return "";
  }
  if (url.username || url.password) {
    for (const part of [url.username, url.password]) {
      if (part) mask(decodeURIComponent(part));
    }
    r.problem(
      "server-url: contains credentials (user:password@); remove them and pass the token as " +
        "api-token (the URL is not printed)",
    );
    return "";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    r.problem(`server-url: expected an http or https URL, got '${url.protocol}'`);
  }
  return text.replace(/\/+$/, "");
}

function readSubmission(r: InputReader, env: NodeJS.ProcessEnv): SubmissionInputs {
  const orgId = r.need("org-id", r.get("org-id"));
  if (orgId) r.schema("org-id", OrgId, orgId);
  const appVersionId = r.get("app-version-id") || (env.GITHUB_SHA ?? "").trim();
  if (!appVersionId) r.problem("app-version-id: empty, and GITHUB_SHA is not set");
  else r.schema("app-version-id", AppVersionId, appVersionId);
  const tests = r.lines("tests");
  if (tests.length === 0) r.need("tests", "");
  const target = r.get("target");
  if (!(TARGETS as readonly string[]).includes(target)) {
    r.problem(`target: expected one of ${TARGETS.join(", ")}, got '${target}'`);
  }
  const device = r.optional("device", DeviceName);
  const tags = r
    .get("tags")
    .split(/[\s,]+/)
    .filter(Boolean);
  for (const tag of tags) r.schema("tags", Tag, tag);
  if (tags.length > 20) r.problem(`tags: at most 20, got ${tags.length}`);
  return {
    orgId,
    appVersionId,
    tests,
    target: target as Target,
    device,
    priority: r.integer("priority", 0, 10),
    retries: r.integer("retries", 0, 5),
    maxAttempts: r.get("max-attempts") ? r.integer("max-attempts", 1, 10) : undefined,
    testTimeoutS: r.seconds("test-timeout", 6 * 3600),
    tags,
    appBuild: r.get("app-build") || undefined,
    bundle: r.boolean("bundle"),
    cancelInProgress: r.boolean("cancel-in-progress"),
  };
}

/** With run-id: the submission's inputs would be ignored, so giving tests is a mistake. */
function waitOnly(r: InputReader): SubmissionInputs {
  if (r.lines("tests").length > 0) {
    r.problem("run-id and tests: give one (tests submits a new run, run-id waits for one)");
  }
  if (r.get("app-build")) {
    r.problem("run-id and app-build: the build goes with the step that submits the run");
  }
  return {
    orgId: r.get("org-id"),
    appVersionId: "",
    tests: [],
    target: r.get("target") as Target,
    device: undefined,
    priority: 0,
    retries: 0,
    maxAttempts: undefined,
    testTimeoutS: undefined,
    tags: [],
    appBuild: undefined,
    bundle: false,
    cancelInProgress: false,
  };
}

const MAX_MINUTES = 7 * 24 * 60;

interface Schema {
  safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } };
}

/** Reads inputs (trimmed, defaulted) and collects what is missing or wrong, to say it all once. */
class InputReader {
  private readonly missing: InputName[] = [];
  private readonly problems: string[] = [];

  constructor(private readonly read: ReadInput) {}

  get(name: InputName): string {
    const value = this.read(name).trim();
    return value || (INPUT_DEFAULTS as Record<string, string>)[name] || "";
  }

  /** Non-blank lines that are not `#` comments. */
  lines(name: InputName): string[] {
    return this.read(name)
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"));
  }

  need(name: InputName, value: string): string {
    if (!value) this.missing.push(name);
    return value;
  }

  problem(text: string): void {
    this.problems.push(text);
  }

  schema(name: InputName, schema: Schema, value: string): void {
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      this.problem(`${name}: '${value}' is not valid (${parsed.error?.issues[0]?.message})`);
    }
  }

  optional(name: InputName, schema: Schema): string | undefined {
    const value = this.get(name) || undefined;
    if (value !== undefined) this.schema(name, schema, value);
    return value;
  }

  integer(name: InputName, min: number, max: number): number {
    const text = this.get(name);
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      this.problem(`${name}: expected a whole number from ${min} to ${max}, got '${text}'`);
      return min;
    }
    return n;
  }

  boolean(name: InputName): boolean {
    const text = this.get(name);
    const t = text.toLowerCase();
    if (t === "true" || t === "false") return t === "true";
    this.problem(`${name}: expected true or false, got '${text}'`);
    return false;
  }

  minutes(name: InputName): number {
    const text = this.get(name);
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > MAX_MINUTES) {
      this.problem(
        `${name}: expected a number of minutes above 0 (at most ${MAX_MINUTES}), got '${text}'`,
      );
      return 1;
    }
    return n;
  }

  /** A duration (`15m`, `90s`, `1h30m`, or seconds), as whole seconds; undefined when empty. */
  seconds(name: InputName, maxS: number): number | undefined {
    const text = this.get(name);
    if (!text) return undefined;
    const ms = parseDuration(text);
    if (ms === null || ms <= 0 || ms > maxS * 1000) {
      this.problem(
        `${name}: expected a duration such as 15m, 90s or 1h30m (at most ${maxS / 3600}h), got '${text}'`,
      );
      return undefined;
    }
    return Math.ceil(ms / 1000);
  }

  /** Throws one InputError naming everything missing or wrong, if anything is. */
  finish(): void {
    const problems = [...this.problems];
    if (this.missing.length > 0) {
      const hints = this.missing.map((n) => (HINTS[n] ? `${n} (${HINTS[n]})` : n));
      const s = this.missing.length === 1 ? "" : "s";
      problems.unshift(`missing required input${s}: ${hints.join(", ")}`);
    }
    if (problems.length > 0) throw new InputError(problems.join("; "));
  }
}
