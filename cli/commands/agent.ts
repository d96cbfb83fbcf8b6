import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { hostname, homedir } from "node:os";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { QgjobClient } from "../../api/client.js";
import { AppVersionId, DeviceName, Tag } from "../../api/schemas.js";
import { TARGETS, type Target } from "../../api/targets.js";
import { VERSION } from "../../app/version.js";
import { DeviceAgent } from "../../agent/agent.js";
import { BlobCache } from "../../agent/blob-cache.js";
import { BuildResolver } from "../../agent/build.js";
import { BundleWorkspaces } from "../../agent/bundle-workspace.js";
import { GroupSupervisor } from "../../agent/supervisor.js";
import { buildPathProblem, buildTemplateProblem } from "../../agent/build-template.js";
import { AppwrightRunner, projectProblem } from "../../agent/runners/appwright.js";
import { httpBlobSink } from "../../agent/evidence/http-sink.js";
import { CommandRunner } from "../../agent/runners/command.js";
import type { Runner } from "../../agent/runners/runner.js";
import { deviceSessionFrom, type DeviceFlags } from "./agent-device.js";
import { BETWEEN_TESTS } from "../../agent/device/platforms.js";
import type { DeviceSession } from "../../agent/device/session.js";
import { clientCommand, resolveToken, resolveUrl } from "../connection.js";
import { parseDuration } from "../duration.js";
import { CliError, EXIT } from "../exit-codes.js";
import { commandLogger } from "../log-lines.js";

interface AgentFlags extends DeviceFlags {
  url?: string;
  token?: string;
  json?: boolean;
  target: string;
  device?: string;
  name?: string;
  label: string[];
  installed: string[];
  runner: "appwright" | "command";
  project?: string;
  command?: string;
  build?: string;
  blobCacheSize: string;
  stateDir: string;
  leaseWait: string;
  drainGrace: string;
  spoolDir?: string;
  logcat?: boolean;
  verbose?: boolean;
}

/** One spool per server and agent name, so a restarted agent finds what it left. */
function defaultSpoolDir(baseUrl: string, name: string): string {
  const key = createHash("sha256").update(`${baseUrl}\n${name}`).digest("hex").slice(0, 16);
  return join(homedir(), ".cache", "qgjob", "spool", key);
}

const collect = (value: string, previous: string[]) => [...previous, value];

function check<T>(
  flag: string,
  schema: { safeParse(v: unknown): { success: boolean } },
  value: T,
): T {
  if (!schema.safeParse(value).success)
    throw new CliError(`${flag}: '${String(value)}' is not valid`, EXIT.usage);
  return value;
}

function seconds(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === null)
    throw new CliError(`${flag}: expected a duration such as 30s or 2m, got '${text}'`, EXIT.usage);
  return ms;
}

/** The flags that need no device or server: each problem is one line and exit 2. */
function checkSetup(flags: AgentFlags) {
  const projectDir = resolve(flags.projectDir);
  if (!existsSync(projectDir) || !statSync(projectDir).isDirectory())
    throw new CliError(`--project-dir: ${projectDir} is not a directory`, EXIT.usage);
  if (flags.runner === "command" && !flags.command)
    throw new CliError("--runner command needs --command '<template with {test}>'", EXIT.usage);
  if (flags.runner === "appwright" && !flags.project)
    throw new CliError(
      "--runner appwright needs --project <name> (a project in appwright.config.ts)",
      EXIT.usage,
    );
  if (flags.build === undefined) return;
  const problem = buildTemplateProblem(flags.build) ?? buildPathProblem(flags.build);
  if (problem) throw new CliError(`--build: ${problem}`, EXIT.usage);
}

/**
 * The AppWright project the agent runs `--no-bundle` runs from must name `--project`. Without
 * an explicit `--project-dir` and a config there, the agent runs bundles only: each carries its
 * own config, checked when it runs.
 */
async function checkAppwrightProject(flags: AgentFlags, given: boolean) {
  const projectDir = resolve(flags.projectDir);
  if (flags.runner !== "appwright") return;
  if (!existsSync(join(projectDir, "appwright.config.ts"))) {
    if (!given) return;
    throw new CliError(`--project-dir: no appwright.config.ts in ${projectDir}`, EXIT.usage);
  }
  const problem = await projectProblem({ projectDir, project: flags.project! });
  if (problem) throw new CliError(problem, EXIT.usage);
}

function runnerFrom(
  flags: AgentFlags,
  device: DeviceSession | undefined,
  log: (line: string) => void,
): Runner {
  const projectDir = resolve(flags.projectDir);
  if (flags.runner === "command")
    return new CommandRunner({ template: flags.command!, cwd: projectDir, onLine: log });
  return new AppwrightRunner({ projectDir, project: flags.project!, device, onLine: log });
}

export function agentCommand(): Command {
  const command = clientCommand("agent").description(
    "Run tests on one device: lease work from the server, run it, report every result.",
  );
  return withDeviceSessionOptions(withAgentOptions(command))
    .addHelpText("after", AGENT_HELP)
    .action(runAgent);
}

/** What the agent is, how it runs tests and where it keeps its files. */
function withAgentOptions(command: Command): Command {
  return command
    .addOption(
      new Option("--target <target>", "what this device is").choices(TARGETS).makeOptionMandatory(),
    )
    .option("--device <name>", "device name or selector (jobs asking for a device go only to it)")
    .option("--name <name>", "agent name, stable across restarts (default: host-target-device)")
    .option("--label <label>", "a label (repeatable)", collect, [])
    .option(
      "--installed <version>",
      "an app version already on the device (repeatable)",
      collect,
      [],
    )
    .addOption(
      new Option("--runner <runner>", "how tests run")
        .choices(["appwright", "command"])
        .default("appwright"),
    )
    .option("--project <name>", "appwright: the project in appwright.config.ts")
    .option("--project-dir <dir>", "where the tests live (the AppWright project)", ".")
    .option(
      "--command <template>",
      "command runner: shell template, {test} {build} {attempt} {app_version_id}",
    )
    .option("--build <template>", "where builds are: path or URL with {app_version_id}")
    .option(
      "--cache-dir <dir>",
      "downloaded builds, test bundles (blobs/) and their dependencies (deps/)",
      join(homedir(), ".cache", "qgjob", "builds"),
    )
    .option("--blob-cache-size <MB>", "bundles and uploaded builds kept, in MB (LRU)", "2048")
    .option(
      "--state-dir <dir>",
      "the agent's own state (its test process groups, per agent name)",
      join(homedir(), ".cache", "qgjob", "agents"),
    )
    .option("--lease-wait <duration>", "how long one lease request waits for work", "30s")
    .option(
      "--drain-grace <duration>",
      "on SIGTERM, how long the running test may take to finish",
      "30s",
    )
    .option(
      "--spool-dir <dir>",
      "results and evidence waiting for the server (default: one per server and agent name)",
    )
    .option("--logcat", "android: attach the device log (adb logcat) of each test's time window")
    .option("--verbose", "also log the tests' output");
}

/** An Appium session of the agent's own on one device (appwright with --udid). */
function withDeviceSessionOptions(command: Command): Command {
  return command
    .option("--udid <udid>", "appwright: the device (adb serial) this agent owns its session on")
    .option(
      "--appium-port <port>",
      "appwright with --udid: this agent's Appium server port",
      "4723",
    )
    .option("--appium-home <dir>", "appwright with --udid: APPIUM_HOME (default: Appium's)")
    .addOption(
      new Option("--appium-platform <platform>", "appwright with --udid: the device's kind")
        .choices(["android", "fake"])
        .default("android"),
    )
    .addOption(
      new Option("--between-tests <policy>", "appwright with --udid: app state between tests")
        .choices(BETWEEN_TESTS)
        .default("clear"),
    )
    .option("--system-port <port>", "UiAutomator2 systemPort (default: appium port + 3477)")
    .option("--wda-local-port <port>", "XCUITest wdaLocalPort (default: appium port + 3377)");
}

const AGENT_HELP =
  "\nExamples:\n" +
  "  qgjob agent --target emulator --device Pixel_7 --runner appwright --project android-emu \\\n" +
  "      --project-dir ./e2e --build './builds/{app_version_id}.apk'\n" +
  "  qgjob agent --target browserstack --project browserstack --project-dir ./e2e\n" +
  "  qgjob agent --target emulator --runner command --command 'npx jest {test}'\n" +
  "\nSIGTERM or SIGINT drains: no new lease, the running test may finish within --drain-grace,\n" +
  "the rest goes back to the queue.\n" +
  "\nServer and token come from --url / QGJOB_URL and --token / QGJOB_TOKEN.\n" +
  "Exit codes: 0 stopped after draining, 2 usage error or a token the server refuses.";

/** The flags checked (a mistake is a usage error, exit 2) and turned into the agent's settings. */
async function agentSettings(flags: AgentFlags, cmd: Command) {
  const target = flags.target as Target;
  const device = flags.device === undefined ? null : check("--device", DeviceName, flags.device);
  for (const l of flags.label) check("--label", Tag, l);
  for (const v of flags.installed) check("--installed", AppVersionId, v);
  checkSetup(flags);
  await checkAppwrightProject(flags, cmd.getOptionValueSource("projectDir") !== "default");
  const name =
    flags.name ??
    [hostname(), target, device]
      .filter(Boolean)
      .join("-")
      .replace(/[^A-Za-z0-9._:-]/g, "_");
  // At least a second: a zero wait would turn the long poll into a busy loop.
  const leaseWaitS = Math.min(
    60,
    Math.max(1, Math.round(seconds("--lease-wait", flags.leaseWait) / 1000)),
  );
  const drainGraceMs = seconds("--drain-grace", flags.drainGrace);
  const blobCacheMb = Number(flags.blobCacheSize);
  if (!Number.isInteger(blobCacheMb) || blobCacheMb < 1)
    throw new CliError(
      `--blob-cache-size: expected a whole number of MB, got '${flags.blobCacheSize}'`,
      EXIT.usage,
    );
  const blobCacheBytes = blobCacheMb * 1024 * 1024;
  return { target, device, name, leaseWaitS, drainGraceMs, blobCacheBytes };
}

async function runAgent(flags: AgentFlags, cmd: Command) {
  const { target, device, name, leaseWaitS, drainGraceMs, blobCacheBytes } = await agentSettings(
    flags,
    cmd,
  );
  const logger = commandLogger(flags.json === true, flags.verbose ? "debug" : "info");
  const onLine = (line: string) => logger.debug({ out: line }, "test output");
  // Before the device session and registering: a test or Appium server an earlier agent of
  // this name left running still holds the device (and the Appium port).
  const { supervisor, killed } = await GroupSupervisor.start(
    join(resolve(flags.stateDir), `${name}.groups`),
  );
  if (killed > 0) logger.warn({ groups: killed }, "killed test processes a previous agent left");
  logger.debug({ watchdog: supervisor.watchdogPid }, "test processes supervised");
  const session = await deviceSessionFrom(flags, onLine).catch((err: unknown) => {
    supervisor.stop();
    throw err;
  });
  const runner = runnerFrom(flags, session, onLine);
  const baseUrl = resolveUrl(flags);
  const token = resolveToken(flags);
  const client = new QgjobClient({
    baseUrl,
    token,
    userAgent: `qgjob-agent/${VERSION}`,
    onRetry: ({ attempt, error }) => logger.debug({ attempt, err: error.message }, "retrying"),
  });
  const agent = new DeviceAgent({
    client,
    name,
    target,
    device,
    labels: flags.label,
    installed: [...new Set([...(session?.installedVersions() ?? []), ...flags.installed])],
    installedNow: session && (() => session.installedVersions()),
    runner,
    builds: new BuildResolver({ template: flags.build ?? null, cacheDir: flags.cacheDir }),
    bundles: new BundleWorkspaces({
      blobs: new BlobCache(client, join(resolve(flags.cacheDir), "blobs"), blobCacheBytes),
      depsDir: join(resolve(flags.cacheDir), "deps"),
      logger,
    }),
    logger,
    leaseWaitS,
    drainGraceMs,
    blobs: httpBlobSink({ baseUrl, token }),
    spoolDir: flags.spoolDir ?? defaultSpoolDir(baseUrl, name),
    logcat: flags.logcat ? { device } : null,
  });
  const stop = () => void agent.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    await agent.run();
  } finally {
    supervisor.stop();
    await session?.stop();
  }
}
