/**
 * `qgjob tests`: each test's history (flake and failure rates, run times, its last outcomes),
 * and quarantining a test file (`qgjob tests quarantine <path>`) or ending it early.
 */
import { Option, type Command } from "commander";
import { MAX_QUARANTINE_S, TARGETS, TEST_SORTS, type TestSummary } from "../../api/schemas.js";
import type { TestOutcome } from "../../api/status.js";
import { formatDuration } from "../../report/duration.js";
import { clientCommand, connect, CONNECTION_HELP, type ConnectionOptions } from "../connection.js";
import { CliError, EXIT } from "../exit-codes.js";
import { collectPages, limitOption, printList } from "../list.js";
import { when } from "../style.js";
import { parseExpiry } from "./token.js";

interface TestsOptions extends ConnectionOptions {
  orgId?: string;
  repo?: string;
  target?: (typeof TARGETS)[number];
  path?: string;
  flaky?: boolean;
  slowest?: boolean;
  quarantined?: boolean;
  sort?: (typeof TEST_SORTS)[number];
  limit: number;
}

/** One character per outcome, oldest first: the terminal's sparkline. */
const MARK: Record<TestOutcome, string> = { passed: "✓", flaky: "~", failed: "✗", error: "!" };
const SPARK_RUNS = 20;

const percent = (rate: number) => `${Math.round(rate * 100)}%`;
const signed = (ms: number) => (ms > 0 ? "+" : ms < 0 ? "-" : "") + formatDuration(Math.abs(ms));

function quarantineCell(t: TestSummary) {
  return t.quarantine ? `until ${t.quarantine.expires_at.slice(0, 10)}` : "";
}

function listAction(opts: TestsOptions) {
  // --flaky --slowest: the flaky tests, slowest first.
  const sort = opts.sort ?? (opts.slowest ? "duration" : opts.flaky ? "flake_rate" : undefined);
  const client = connect(opts);
  return collectPages(opts.limit, (page) =>
    client.listTests({
      ...page,
      org_id: opts.orgId,
      repo: opts.repo,
      target: opts.target,
      path: opts.path,
      flaky: opts.flaky ? "true" : undefined,
      quarantined: opts.quarantined ? "true" : undefined,
      sort,
    }),
  );
}

function printTests(tests: TestSummary[], json: boolean | undefined) {
  printList(tests, json, {
    header: [
      "TEST",
      "TARGET",
      "RUNS",
      "FLAKY",
      "FAILING",
      "P50",
      "P95",
      "CHANGE",
      "LAST RUNS",
      "QUARANTINED",
      "LAST RUN",
    ],
    empty: "no test history yet",
    row: (t, style) => [
      t.repo ? `${t.test_path} (${t.repo})` : t.test_path,
      t.target,
      String(t.runs),
      percent(t.flake_rate),
      percent(t.failure_rate),
      formatDuration(t.p50_ms),
      formatDuration(t.p95_ms),
      signed(t.duration_change_ms),
      t.recent
        .slice(-SPARK_RUNS)
        .map((o) => MARK[o])
        .join(""),
      quarantineCell(t),
      when(style, t.last_run_at),
    ],
  });
}

function quarantineCommand(): Command {
  return clientCommand("quarantine")
    .description(
      "Quarantine a test file: it still runs and reports, but its failures fail no run until the quarantine ends.",
    )
    .argument("<path>", "the test file, as runs name it (tests/login.spec.ts)")
    .requiredOption("--reason <text>", "why (shown beside every quarantined failure)")
    .option("--expires <duration>", "how long: 12h, 14d, 2w (at most 90d)", "14d")
    .option("--owner <name>", "who looks after it")
    .option("--org-id <id>", "the org (a fleet token must name one)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        '  qgjob tests quarantine tests/login.spec.ts --reason "keyboard race, #412" --expires 14d\n' +
        "  qgjob tests quarantine tests/pay.spec.ts --reason flaky --owner payments --org-id acme\n" +
        CONNECTION_HELP,
    )
    .action(
      async (
        path: string,
        opts: ConnectionOptions & {
          reason: string;
          expires: string;
          owner?: string;
          orgId?: string;
        },
      ) => {
        if (opts.expires === "never") {
          throw new CliError(
            "--expires: a quarantine ends; give e.g. 14d (at most 90d)",
            EXIT.usage,
          );
        }
        const expiresInS = Math.round(parseExpiry(opts.expires, 0)! / 1000);
        if (expiresInS > MAX_QUARANTINE_S) {
          throw new CliError(`--expires: at most 90d; got '${opts.expires}'`, EXIT.usage);
        }
        const q = await connect(opts).quarantineTest({
          test_path: path,
          reason: opts.reason,
          expires_in_s: expiresInS,
          ...(opts.owner ? { owner: opts.owner } : {}),
          ...(opts.orgId ? { org_id: opts.orgId } : {}),
        });
        if (opts.json) process.stdout.write(JSON.stringify(q, null, 2) + "\n");
        else
          process.stdout.write(
            `quarantined ${q.test_path} in ${q.org_id} until ${q.expires_at}: its failures fail no run\n`,
          );
      },
    );
}

function unquarantineCommand(): Command {
  return clientCommand("unquarantine")
    .description("End a test file's quarantine now: its failures fail runs again.")
    .argument("<path>", "the quarantined test file")
    .option("--org-id <id>", "the org (a fleet token must name one)")
    .addHelpText(
      "after",
      "\nExamples:\n  qgjob tests unquarantine tests/login.spec.ts\n" + CONNECTION_HELP,
    )
    .action(async (path: string, opts: ConnectionOptions & { orgId?: string }) => {
      await connect(opts).unquarantineTest({
        test_path: path,
        ...(opts.orgId ? { org_id: opts.orgId } : {}),
      });
      if (!opts.json) process.stdout.write(`${path}: quarantine ended\n`);
    });
}

export function testsCommand(): Command {
  return (
    clientCommand("tests")
      .description(
        "List tests with their history: runs, flake and failure rates over the last runs, p50/p95 run time, its change, the last outcomes, quarantine.",
      )
      .option("--flaky", "only tests with a flaky run among their last runs, flakiest first")
      .option("--slowest", "slowest first (p95 run time)")
      .addOption(new Option("--sort <by>", "order, highest first").choices(TEST_SORTS))
      .option("--quarantined", "only tests quarantined now")
      .option("--org-id <id>", "only this org's tests")
      .option("--repo <owner/name>", "only this repository's tests")
      .addOption(new Option("--target <target>", "only this target").choices(TARGETS))
      .option("--path <text>", "only tests whose path contains this")
      .addOption(limitOption())
      .addHelpText(
        "after",
        "\nOutcomes, oldest first: ✓ passed, ~ flaky, ✗ failed, ! infrastructure error.\n" +
          "\nExamples:\n" +
          "  qgjob tests --flaky\n" +
          "  qgjob tests --slowest --limit 10\n" +
          "  qgjob tests --sort duration_change --repo acme/app --json\n" +
          CONNECTION_HELP,
      )
      .action(async (opts: TestsOptions) => printTests(await listAction(opts), opts.json))
      // `tests quarantine x --org-id a`: the subcommand's own options, not the list's.
      .enablePositionalOptions()
      .addCommand(quarantineCommand())
      .addCommand(unquarantineCommand())
  );
}
