/**
 * The Action's inputs: read, defaulted and checked here, so that every mistake is one clear
 * line before anything is sent. The token is masked (`::add-mask::`) before anything else runs.
 *
 * The defaults below are the ones in action.yml (a test keeps the two equal). The runner fills
 * them in itself; they are repeated here so that an empty value (`org-id: ''`, an unset secret
 * passed through) means the default too, not an error three calls later.
 */
import { AppVersionId, DeviceName, OrgId, TARGETS } from "../api/schemas.js";
import type { Target } from "../api/targets.js";
import { ActionError } from "./errors.js";

export const INPUT_DEFAULTS = {
  "working-directory": ".",
  target: "emulator",
  priority: "5",
  retries: "0",
  wait: "true",
  "timeout-minutes": "60",
  "fail-on-flaky": "false",
  "junit-path": "qgjob-junit.xml",
} as const;

/** Every input action.yml declares, in its order. */
export const INPUT_NAMES = [
  "server-url",
  "api-token",
  "org-id",
  "app-version-id",
  "tests",
  "working-directory",
  "target",
  "device",
  "priority",
  "retries",
  "wait",
  "timeout-minutes",
  "fail-on-flaky",
  "junit-path",
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

export interface ActionInputs {
  serverUrl: string;
  token: string;
  orgId: string;
  appVersionId: string;
  /** Test paths and globs as written, one per line (comments and blank lines dropped). */
  tests: string[];
  /** As given: relative to the workspace (checked against it when the tests are resolved). */
  workingDirectory: string;
  target: Target;
  device: string | undefined;
  priority: number;
  retries: number;
  wait: boolean;
  timeoutMinutes: number;
  failOnFlaky: boolean;
  /** As given (relative to the workspace, or absolute). */
  junitPath: string;
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
  tests: "test files or globs, one per line",
};

/**
 * Reads and checks every input. `mask` is called with the token first of all (core.setSecret).
 * `env` gives GITHUB_SHA, the fallback of app-version-id.
 */
export function readInputs(
  read: ReadInput,
  env: NodeJS.ProcessEnv,
  mask: (secret: string) => void,
): ActionInputs {
  const token = read("api-token").trim();
  if (token) mask(token);

  const get = (name: InputName): string => {
    const value = read(name).trim();
    return value || (INPUT_DEFAULTS as Record<string, string>)[name] || "";
  };
  const missing: InputName[] = [];
  const problems: string[] = [];
  const need = (name: InputName, value: string) => {
    if (!value) missing.push(name);
    return value;
  };

  const serverUrl = need("server-url", get("server-url"));
  if (serverUrl) {
    const problem = checkUrl(serverUrl);
    if (problem) problems.push(`server-url: ${problem}`);
  }
  need("api-token", token);
  const orgId = need("org-id", get("org-id"));
  if (orgId) check(problems, "org-id", OrgId, orgId);

  const appVersionId = get("app-version-id") || (env.GITHUB_SHA ?? "").trim();
  if (!appVersionId) problems.push("app-version-id: empty, and GITHUB_SHA is not set");
  else check(problems, "app-version-id", AppVersionId, appVersionId);

  const tests = read("tests")
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  if (tests.length === 0) missing.push("tests");

  const workingDirectory = get("working-directory");

  const target = get("target");
  if (!(TARGETS as readonly string[]).includes(target)) {
    problems.push(`target: expected one of ${TARGETS.join(", ")}, got '${target}'`);
  }
  const device = get("device") || undefined;
  if (device !== undefined) check(problems, "device", DeviceName, device);

  const priority = integer(problems, "priority", get("priority"), 0, 10);
  const retries = integer(problems, "retries", get("retries"), 0, 5);
  const wait = boolean(problems, "wait", get("wait"));
  const failOnFlaky = boolean(problems, "fail-on-flaky", get("fail-on-flaky"));
  const timeoutMinutes = minutes(problems, get("timeout-minutes"));
  const junitPath = get("junit-path");

  if (missing.length > 0) {
    const hints = missing.map((n) => (HINTS[n] ? `${n} (${HINTS[n]})` : n));
    problems.unshift(
      `missing required input${missing.length === 1 ? "" : "s"}: ${hints.join(", ")}`,
    );
  }
  if (problems.length > 0) throw new InputError(problems.join("; "));

  return {
    serverUrl: serverUrl.replace(/\/+$/, ""),
    token,
    orgId,
    appVersionId,
    tests,
    workingDirectory,
    target: target as Target,
    device,
    priority,
    retries,
    wait,
    timeoutMinutes,
    failOnFlaky,
    junitPath,
  };
}

function checkUrl(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `'${text}' is not a URL (expected e.g. https://qgjob.example.com)`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `expected an http or https URL, got '${url.protocol}'`;
  }
  return null;
}

function check(
  problems: string[],
  name: InputName,
  schema: {
    safeParse(v: unknown): { success: boolean; error?: { issues: { message: string }[] } };
  },
  value: string,
) {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    problems.push(`${name}: '${value}' is not valid (${parsed.error?.issues[0]?.message})`);
  }
}

function integer(problems: string[], name: InputName, text: string, min: number, max: number) {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    problems.push(`${name}: expected a whole number from ${min} to ${max}, got '${text}'`);
    return min;
  }
  return n;
}

function boolean(problems: string[], name: InputName, text: string): boolean {
  const t = text.toLowerCase();
  if (t === "true") return true;
  if (t === "false") return false;
  problems.push(`${name}: expected true or false, got '${text}'`);
  return false;
}

const MAX_MINUTES = 7 * 24 * 60;

function minutes(problems: string[], text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > MAX_MINUTES) {
    problems.push(
      `timeout-minutes: expected a number of minutes above 0 (at most ${MAX_MINUTES}), got '${text}'`,
    );
    return 1;
  }
  return n;
}
