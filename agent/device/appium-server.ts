/**
 * The agent's own Appium server: one per agent, on its own port, started once and kept across
 * leases; `ensure()` starts it again when it has died. The driver is checked once per agent
 * (`appium driver list --installed --json`) and installed only when missing, never reinstalled.
 *
 * Appium runs as `node <appium>/index.js server` (no npx), with APPIUM_HOME as given, in its own
 * process group, loading only the one driver it needs (`--use-drivers`).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { runProcess, trackGroup } from "../process.js";

const execFileP = promisify(execFile);

export interface AppiumServerOptions {
  /** Appium's main script (appium/index.js). */
  main: string;
  port: number;
  /** The driver to load and check: uiautomator2, xcuitest, fake. */
  driver: string;
  /** Where Appium keeps its drivers; undefined: Appium's default (~/.appium). */
  appiumHome?: string;
  /** How long a start may take before it is an error. */
  startTimeoutMs?: number;
  onLine?: (line: string) => void;
}

export class AppiumError extends Error {}

/** Resolves when nothing listens on the port (127.0.0.1); rejects with a clear message if something does. */
export function checkPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new AppiumError(
          err.code === "EADDRINUSE"
            ? `Appium port ${port} is in use (another agent or Appium on this host? give each agent its own --appium-port)`
            : `Appium port ${port}: ${err.message}`,
        ),
      ),
    );
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
  });
}

export class AppiumServer {
  readonly stats = { appiumStarts: 0, driverInstalls: 0, driverChecks: 0 };
  private child: ChildProcess | null = null;
  private driverChecked = false;
  private tail: string[] = [];
  /** How many times the server has exited on its own (a crash, a kill). */
  deaths = 0;

  constructor(private readonly opts: AppiumServerOptions) {}

  get port() {
    return this.opts.port;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private env(): NodeJS.ProcessEnv {
    const env = { ...process.env };
    if (this.opts.appiumHome) env.APPIUM_HOME = this.opts.appiumHome;
    return env;
  }

  /** Installs the driver only when `driver list --installed` does not have it. Once per agent. */
  async ensureDriver(): Promise<void> {
    if (this.driverChecked) return;
    this.stats.driverChecks++;
    let installed: Record<string, unknown>;
    try {
      const { stdout } = await execFileP(
        process.execPath,
        [this.opts.main, "driver", "list", "--installed", "--json"],
        { env: this.env(), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      );
      installed = JSON.parse(stdout) as Record<string, unknown>;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new AppiumError(
        `appium driver list failed: ${(e.stderr || e.message).trim().split("\n").pop()}`,
      );
    }
    if (!(this.opts.driver in installed)) {
      this.opts.onLine?.(`installing the Appium driver ${this.opts.driver}`);
      const res = await runProcess(
        process.execPath,
        [this.opts.main, "driver", "install", this.opts.driver],
        { env: this.env(), timeoutMs: 600_000 },
      );
      if (res.exitCode !== 0)
        throw new AppiumError(
          `appium driver install ${this.opts.driver} failed: ${res.tail.trim().split("\n").pop()}`,
        );
      this.stats.driverInstalls++;
    }
    this.driverChecked = true;
  }

  /** Starts the server unless it runs; resolves once /status answers ready. */
  async ensure(): Promise<void> {
    if (this.child) return;
    await checkPortFree(this.opts.port); // first: it answers in a millisecond
    await this.ensureDriver();
    this.tail = [];
    const child = spawn(
      process.execPath,
      [
        this.opts.main,
        "server",
        "--address",
        "127.0.0.1",
        "--port",
        String(this.opts.port),
        "--use-drivers",
        this.opts.driver,
        "--log-level",
        "warn",
        "--log-no-colors",
      ],
      { env: this.env(), detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.stats.appiumStarts++;
    this.child = child;
    // Killed with the agent, SIGKILL included (agent/supervisor.ts): a server left behind would
    // hold the port, and the agent's next start would fail with "port in use".
    const untrack = child.pid === undefined ? () => undefined : trackGroup(child.pid);
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line.trim()) continue;
        this.tail = [...this.tail.slice(-20), line];
        this.opts.onLine?.(`[appium] ${line}`);
      }
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    let exit: string | null = null;
    child.once("exit", (code, signal) => {
      untrack();
      exit = `exit ${code ?? signal}`;
      if (this.child === child) {
        this.child = null;
        this.deaths++;
      }
    });
    child.once("error", () => undefined); // reported through exit
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 120_000);
    while (!(await isReady(this.opts.port))) {
      if (exit !== null) {
        this.deaths--; // a failed start is not a death of a running server
        const last = this.tail.find((l) => /EADDRINUSE|Error/.test(l)) ?? this.tail.at(-1) ?? "";
        throw new AppiumError(`Appium did not start on port ${this.opts.port} (${exit}): ${last}`);
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new AppiumError(
          `Appium did not answer on port ${this.opts.port} within ${Math.round((this.opts.startTimeoutMs ?? 120_000) / 1000)}s`,
        );
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Kills the server's process group; resolves once it has exited (its port is free). */
  stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve();
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      return Promise.resolve(); // already gone
    }
    return exited;
  }

  /** The server's pid (tests kill it to see the agent recover). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }
}

/** True when the server on the port answers /status ready. */
async function isReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`, {
      signal: AbortSignal.timeout(1000),
    });
    const body = (await res.json()) as { value?: { ready?: boolean } };
    return body.value?.ready === true;
  } catch {
    return false;
  }
}
