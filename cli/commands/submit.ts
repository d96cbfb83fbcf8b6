import { randomUUID } from "node:crypto";
import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import type { z } from "zod";
import {
  AppVersionId,
  DeviceName,
  IdempotencyKey,
  MAX_TESTS,
  OrgId,
  Tag,
  TARGETS,
  type SubmitRunRequest,
} from "../../api/schemas.js";
import { clientCommand, connect, CONNECTION_HELP, type ConnectionOptions } from "../connection.js";
import { parseTimeoutOption } from "../duration.js";
import { CliError, EXIT } from "../exit-codes.js";
import { waitAndReport } from "../follow.js";
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
  tag?: string[];
  testTimeout?: string;
  wait?: boolean;
  timeout?: string;
  idempotencyKey?: string;
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
  return clientCommand("submit")
    .description("Submit AppWright tests as one run, and optionally wait for the outcome.")
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
    .option("--tag <tag>", "a tag such as @smoke; repeatable", collect)
    .option("--test-timeout <duration>", "time limit per test (server default 15m)")
    .option("--wait", "wait for the run to end, with live progress, and exit with its outcome")
    .option("--timeout <duration>", "with --wait: give up after this long (30m, 90s, or seconds)")
    .option(
      "--idempotency-key <key>",
      "reuse a key to make a resubmission return the first run (default: a fresh UUID)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob submit --org-id=qualgent --app-version-id=xyz123 --test=tests/onboarding.spec.js\n" +
        "  qgjob submit --org-id qualgent --app-version-id xyz123 \\\n" +
        "      --test 'tests/**/*.spec.js' --target browserstack --priority 8 --wait --timeout 30m\n" +
        "  qgjob submit --org-id qualgent --app-version-id xyz123 --test tests/a.spec.js \\\n" +
        "      --test tests/b.spec.js --tag @smoke --retries 1 --json\n" +
        "\nTests: quote a glob ('tests/**/*.spec.js') to have qgjob expand it here, relative to the\n" +
        "current directory (node_modules and .git are skipped); a glob matching nothing is an\n" +
        "error. A plain path is sent as given even when it does not exist here: agents run the\n" +
        "tests from their own checkout. Paths are sent relative, with forward slashes.\n" +
        "Every submission is one run, also for one test: follow it with\n" +
        "`qgjob status --run-id <id>` or `qgjob wait --run-id <id>`.\n" +
        CONNECTION_HELP,
    )
    .action(async (opts: SubmitOptions) => {
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
        tests: await expandTests(opts.test, process.cwd()),
        target: opts.target,
        device: opts.device === undefined ? undefined : check(DeviceName, opts.device, "--device"),
        priority: opts.priority,
        retries: opts.retries,
        tags: opts.tag?.map((t) => check(Tag, t, "--tag")),
        timeout_s: testTimeoutMs === undefined ? undefined : Math.ceil(testTimeoutMs / 1000),
        source: "cli",
      };
      if (request.tests.length > MAX_TESTS) {
        throw new CliError(
          `--test: ${request.tests.length} tests, more than ${MAX_TESTS} in one run; split them`,
          EXIT.usage,
        );
      }

      const client = connect(opts);
      const run = await client.submitRun(request, key);
      if (!opts.wait) {
        process.stdout.write(
          opts.json ? JSON.stringify(run, null, 2) + "\n" : formatSubmitted(run),
        );
        return;
      }
      if (!opts.json) process.stdout.write(formatSubmitted(run));
      const target = { kind: "run", id: run.id } as const;
      await waitAndReport(client, target, { json: opts.json === true, timeoutMs });
    });
}
