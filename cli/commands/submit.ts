import { randomUUID } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import type { z } from "zod";
import {
  AppVersionId,
  DeviceName,
  IdempotencyKey,
  MAX_TESTS,
  OrgId,
  ShortText,
  Tag,
  TARGETS,
  type SubmitRunRequest,
} from "../../api/schemas.js";
import type { QgjobClient } from "../../api/client.js";
import { checkedOutCommit, uploadBuild, uploadBundle } from "../../api/run-inputs.js";
import {
  clientCommand,
  connect,
  CONNECTION_HELP,
  resolveUrl,
  type ConnectionOptions,
} from "../connection.js";
import { dashboardLinks } from "../../report/links.js";
import { parseTimeoutOption } from "../duration.js";
import { CliError, EXIT } from "../exit-codes.js";
import { waitAndReport } from "../follow.js";
import { branchRefOf, repoOf } from "../git.js";
import { formatSubmitted } from "../output.js";
import { expandTests } from "../tests-arg.js";

interface SubmitOptions extends ConnectionOptions {
  orgId: string;
  appVersionId: string;
  test: string[];
  target: (typeof TARGETS)[number];
  device?: string;
  priority?: number;
  retries?: number;
  failFast?: number;
  tag?: string[];
  testTimeout?: string;
  wait?: boolean;
  timeout?: string;
  idempotencyKey?: string;
  projectDir?: string;
  /** commander's negation of --no-bundle. */
  bundle: boolean;
  build?: string;
  repo?: string;
  ref?: string;
  supersede?: boolean;
}

const intIn = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
  }
  return n;
};

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function check<T>(schema: z.ZodType<T>, value: string, flag: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new CliError(`${flag} '${value}': ${parsed.error.issues[0]?.message}`, EXIT.usage);
  }
  return parsed.data;
}

export function submitCommand(): Command {
  const command = clientCommand("submit").description(
    "Submit AppWright tests as one run, and optionally wait for the outcome.",
  );
  return withBundleOptions(withRunOptions(command))
    .addHelpText("after", SUBMIT_HELP)
    .action(submit);
}

/** What the run is: its org, build, tests, where and how they run. */
function withRunOptions(command: Command): Command {
  return command
    .requiredOption("--org-id <id>", "the org the run belongs to")
    .requiredOption("--app-version-id <id>", "the app build to test")
    .requiredOption(
      "--test <path...>",
      "test file(s) or glob(s), relative to the project root; repeatable",
    )
    .addOption(
      new Option("--target <target>", "where the tests run").choices(TARGETS).default("emulator"),
    )
    .option("--device <name>", "a specific device or emulator name")
    .option("--priority <0-10>", "higher runs first (server default 5)", intIn(0, 10))
    .option(
      "--retries <0-5>",
      "re-run a failing test up to this many times (default 0)",
      intIn(0, 5),
    )
    .option(
      "--fail-fast <n>",
      "cancel the rest of the run once this many tests have failed",
      intIn(1, MAX_TESTS),
    )
    .option("--tag <tag>", "a tag such as @smoke; repeatable", collect)
    .option("--test-timeout <duration>", "time limit per test (server default 15m)")
    .option("--wait", "wait for the run to end, with live progress, and exit with its outcome")
    .option("--timeout <duration>", "with --wait: give up after this long (30m, 90s, or seconds)");
}

/** What travels with the run (project, build) and which branch it stands for. */
function withBundleOptions(command: Command): Command {
  return command
    .option(
      "--project-dir <dir>",
      "the test project packed and sent with the run (default: the current directory when it " +
        "holds an appwright.config.* or a .qgjobignore)",
    )
    .option(
      "--no-bundle",
      "send no test project: agents run the tests of their own checkout (--project-dir)",
    )
    .option("--build <file>", "an app build file uploaded with the run for agents to install")
    .option(
      "--repo <owner/name>",
      "the repository the run tests (with --supersede: default origin)",
    )
    .option(
      "--ref <ref>",
      "the branch the run tests (with --supersede: default the checked-out one)",
    )
    .option(
      "--supersede",
      "cancel the unfinished jobs of earlier runs of the same repo and branch on this target",
    )
    .option(
      "--idempotency-key <key>",
      "reuse a key to make a resubmission return the first run (default: a fresh UUID)",
    );
}

const SUBMIT_HELP =
  "\nExamples:\n" +
  "  qgjob submit --org-id=qualgent --app-version-id=xyz123 --test=tests/onboarding.spec.js\n" +
  "  qgjob submit --org-id qualgent --app-version-id xyz123 \\\n" +
  "      --test 'tests/**/*.spec.js' --target browserstack --priority 8 --wait --timeout 30m\n" +
  "  qgjob submit --org-id qualgent --app-version-id xyz123 --test tests/a.spec.js \\\n" +
  "      --test tests/b.spec.js --tag @smoke --retries 1 --json\n" +
  "\nTests: quote a glob ('tests/**/*.spec.js') to have qgjob expand it here, relative to the\n" +
  "project directory (node_modules and .git are skipped); a glob matching nothing is an\n" +
  "error. Paths are sent relative, with forward slashes.\n" +
  "\nBundle: the project directory is packed (deterministically, without node_modules) and\n" +
  "uploaded, and agents run exactly those files; a path not in it is refused\n" +
  "(test_not_in_bundle). Re-submitting the same files uploads nothing. Without\n" +
  "--project-dir the current directory is packed when it holds an appwright.config.* or a\n" +
  ".qgjobignore, else nothing is sent. With --no-bundle agents run their own checkout.\n" +
  "\nSupersede: with --supersede this run stops the earlier unfinished runs of its repo and\n" +
  "branch on the same target and device (a new push makes their results moot); the repo\n" +
  "and branch come from --repo/--ref, else from git in the project directory.\n" +
  "Every submission is one run, also for one test: follow it with\n" +
  "`qgjob status --run-id <id>` or `qgjob wait --run-id <id>`.\n" +
  CONNECTION_HELP;

async function submit(opts: SubmitOptions) {
  const { request, key, timeoutMs } = await submitRequest(opts);
  const client = connect(opts);
  await attachInputs(client, request, opts);
  const run = await client.submitRun(request, key);
  const page = dashboardLinks(resolveUrl(opts), run.id).run;
  if (!opts.wait) {
    process.stdout.write(
      opts.json ? JSON.stringify(run, null, 2) + "\n" : formatSubmitted(run, page),
    );
    return;
  }
  if (!opts.json) process.stdout.write(formatSubmitted(run, page));
  const target = { kind: "run", id: run.id } as const;
  await waitAndReport(client, target, { json: opts.json === true, timeoutMs });
}

/** The request the flags describe, checked here so a mistake is a usage error (exit 2). */
async function submitRequest(opts: SubmitOptions) {
  if (opts.timeout !== undefined && !opts.wait) {
    throw new CliError(
      "--timeout is how long --wait waits: add --wait (or use --test-timeout for a per-test limit)",
      EXIT.usage,
    );
  }
  const timeoutMs = parseTimeoutOption(opts.timeout);
  const testTimeoutMs = parseTimeoutOption(opts.testTimeout, "--test-timeout");
  const key = opts.idempotencyKey ?? randomUUID();
  if (!IdempotencyKey.safeParse(key).success) {
    throw new CliError("--idempotency-key: 1-255 visible ASCII characters", EXIT.usage);
  }
  const request: SubmitRunRequest = {
    org_id: check(OrgId, opts.orgId, "--org-id"),
    app_version_id: check(AppVersionId, opts.appVersionId, "--app-version-id"),
    tests: await expandTests(opts.test, resolve(opts.projectDir ?? ".")),
    target: opts.target,
    device: opts.device === undefined ? undefined : check(DeviceName, opts.device, "--device"),
    priority: opts.priority,
    retries: opts.retries,
    fail_fast: opts.failFast,
    tags: opts.tag?.map((t) => check(Tag, t, "--tag")),
    timeout_s: testTimeoutMs === undefined ? undefined : Math.ceil(testTimeoutMs / 1000),
    source: "cli",
    ...branchOf(opts),
  };
  if (request.tests.length > MAX_TESTS) {
    throw new CliError(
      `--test: ${request.tests.length} tests, more than ${MAX_TESTS} in one run; split them`,
      EXIT.usage,
    );
  }
  return { request, key, timeoutMs };
}

/** The run's repo and ref: as given, else with --supersede from git; refused when unknown. */
function branchOf(opts: SubmitOptions): Pick<SubmitRunRequest, "repo" | "ref" | "supersede"> {
  const dir = resolve(opts.projectDir ?? ".");
  const repo = opts.repo ?? (opts.supersede ? repoOf(dir) : undefined);
  const ref = opts.ref ?? (opts.supersede ? branchRefOf(dir) : undefined);
  if (opts.supersede && (repo === undefined || ref === undefined)) {
    const missing =
      repo === undefined ? "repository (no git remote origin)" : "branch (not on one)";
    throw new CliError(
      `--supersede: cannot tell the ${missing} in ${dir}: give --repo <owner/name> and --ref <branch>`,
      EXIT.usage,
    );
  }
  return {
    repo: repo === undefined ? undefined : check(ShortText, repo, "--repo"),
    // `main` is the branch the App and the Action know as refs/heads/main.
    ref: ref === undefined ? undefined : check(ShortText, fullRef(ref), "--ref"),
    supersede: opts.supersede,
  };
}

const fullRef = (ref: string) => (ref.startsWith("refs/") ? ref : `refs/heads/${ref}`);

/** Packs and uploads the project (unless --no-bundle) and the --build file, and names them. */
async function attachInputs(client: QgjobClient, request: SubmitRunRequest, opts: SubmitOptions) {
  const say = (line: string) => {
    if (!opts.json) process.stderr.write(line + "\n");
  };
  if (opts.build !== undefined) {
    if (!statSync(opts.build, { throwIfNoEntry: false })?.isFile()) {
      throw new CliError(`--build ${opts.build}: no such file`, EXIT.usage);
    }
    const build = await uploadBuild(client, request.org_id, opts.build);
    request.build = build.ref;
    say(`build ${build.ref.name} ${build.ref.sha256.slice(0, 12)} ${sentOrHeld(build.uploaded)}`);
  }
  if (!opts.bundle) {
    say("no bundle: agents run the tests of their own checkout");
    return;
  }
  const dir = resolve(opts.projectDir ?? ".");
  if (opts.projectDir === undefined && !isTestProject(dir)) return;
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new CliError(`--project-dir ${opts.projectDir}: not a directory`, EXIT.usage);
  }
  const bundle = await uploadBundle(client, request.org_id, dir, checkedOutCommit(dir));
  request.bundle = bundle.ref;
  say(
    `bundle ${bundle.ref.sha256.slice(0, 12)} ${bundle.files} files ${bundle.size} bytes ` +
      sentOrHeld(bundle.uploaded),
  );
}

/**
 * Whether the current directory is a test project worth packing unasked: one with an AppWright
 * config, or whose owner wrote a .qgjobignore. Elsewhere (a repository root, a home directory)
 * a submission sends no bundle, as before bundles existed, rather than packing unrelated files.
 */
function isTestProject(dir: string) {
  const names = ["ts", "js", "mjs", "cjs"].map((ext) => `appwright.config.${ext}`);
  return [...names, ".qgjobignore"].some((n) => existsSync(join(dir, n)));
}

const sentOrHeld = (uploaded: boolean) => (uploaded ? "uploaded" : "already on the server");
