import { createHash } from "node:crypto";
import { hostname, homedir } from "node:os";
import { join, resolve } from "node:path";
import { Option, type Command } from "commander";
import { QgjobClient } from "../../api/client.js";
import { AppVersionId, DeviceName, Tag } from "../../api/schemas.js";
import { TARGETS, type Target } from "../../api/targets.js";
import { VERSION } from "../../app/version.js";
import { DeviceAgent } from "../../agent/agent.js";
import { BuildResolver } from "../../agent/build.js";
import { GroupSupervisor } from "../../agent/supervisor.js";
import { buildTemplateProblem } from "../../agent/build-template.js";
import { AppwrightRunner } from "../../agent/runners/appwright.js";
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

function runnerFrom(
  flags: AgentFlags,
  device: DeviceSession | undefined,
  log: (line: string) => void,
): Runner {
  const projectDir = resolve(flags.projectDir);
  if (flags.runner === "command") {
    if (!flags.command)
      throw new CliError("--runner command needs --command '<template with {test}>'", EXIT.usage);
    return new CommandRunner({ template: flags.command, cwd: projectDir, onLine: log });
  }
  if (!flags.project)
    throw new CliError(
      "--runner appwright needs --project <name> (a project in appwright.config.ts)",
      EXIT.usage,
    );
  return new AppwrightRunner({ projectDir, project: flags.project, device, onLine: log });
}

export function agentCommand(): Command {
  return clientCommand("agent")
    .description(
      "Run tests on one device: lease work from the server, run it, report every result.",
    )
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
    .option("--cache-dir <dir>", "downloaded builds", join(homedir(), ".cache", "qgjob", "builds"))
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
    .option("--verbose", "also log the tests' output")
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
    .option("--wda-local-port <port>", "XCUITest wdaLocalPort (default: appium port + 3377)")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  qgjob agent --target emulator --device Pixel_7 --runner appwright --project android-emu \\\n" +
        "      --project-dir ./e2e --build './builds/{app_version_id}.apk'\n" +
        "  qgjob agent --target browserstack --project browserstack --project-dir ./e2e\n" +
        "  qgjob agent --target emulator --runner command --command 'npx jest {test}'\n" +
        "\nSIGTERM or SIGINT drains: no new lease, the running test may finish within --drain-grace,\n" +
        "the rest goes back to the queue.\n" +
        "\nServer and token come from --url / QGJOB_URL and --token / QGJOB_TOKEN.\n" +
        "Exit codes: 0 stopped after draining, 2 usage error or a token the server refuses.",
    )
    .action(async (flags: AgentFlags) => {
      const target = flags.target as Target;
      const device =
        flags.device === undefined ? null : check("--device", DeviceName, flags.device);
      for (const l of flags.label) check("--label", Tag, l);
      for (const v of flags.installed) check("--installed", AppVersionId, v);
      const templateProblem = flags.build === undefined ? null : buildTemplateProblem(flags.build);
      if (templateProblem) throw new CliError(`--build: ${templateProblem}`, EXIT.usage);
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
      const logger = commandLogger(flags.json === true, flags.verbose ? "debug" : "info");
      const onLine = (line: string) => logger.debug({ out: line }, "test output");
      const session = await deviceSessionFrom(flags, onLine);
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
        logger,
        leaseWaitS,
        drainGraceMs,
        blobs: httpBlobSink({ baseUrl, token }),
        spoolDir: flags.spoolDir ?? defaultSpoolDir(baseUrl, name),
        logcat: flags.logcat ? { device } : null,
      });
      // Before registering: a test an earlier agent of this name left running still holds the device.
      const { supervisor, killed } = GroupSupervisor.start(
        join(resolve(flags.stateDir), `${name}.groups`),
      );
      if (killed > 0)
        logger.warn({ groups: killed }, "killed test processes a previous agent left");
      logger.debug({ watchdog: supervisor.watchdogPid }, "test processes supervised");
      const stop = () => void agent.stop();
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
      try {
        await agent.run();
      } finally {
        supervisor.stop();
        await session?.stop();
      }
    });
}
