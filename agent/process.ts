/**
 * Child processes in their own process group, so a cancel or timeout kills the test and
 * everything it started (npx, appwright, playwright workers, appium), not just the shell.
 */
import { spawn, type SpawnOptions } from "node:child_process";

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last `tailLines` lines of stdout and stderr, interleaved as they came. */
  tail: string;
  /** The last `tailLines` lines of stderr alone (where most frameworks print the failure). */
  errTail: string;
  durationMs: number;
  timedOut: boolean;
  stopped: boolean;
}

/** Told of every process group started and ended (agent/supervisor.ts). */
export interface GroupTracker {
  add(pgid: number): void;
  remove(pgid: number): void;
}

let tracker: GroupTracker | null = null;

export function setGroupTracker(next: GroupTracker | null) {
  tracker = next;
}

/**
 * A process group the agent started outside runProcess (its Appium server) that must not
 * outlive the agent either; call the answer once the group has exited.
 */
export function trackGroup(pgid: number): () => void {
  const told = tracker;
  told?.add(pgid);
  return () => told?.remove(pgid);
}

export interface RunProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the whole group after this long (ms). */
  timeoutMs?: number;
  /** Kill the whole group when this fires. */
  signal?: AbortSignal;
  tailLines?: number;
  /** Also copy output here (the agent's own log), line by line. */
  onLine?: (line: string) => void;
  /** Every byte of stdout and stderr, as it comes (the attempt's full log). */
  output?: { write(chunk: Buffer): void };
  /** Between SIGTERM and SIGKILL. */
  graceMs?: number;
}

/** Longest line kept for the tail and `onLine`; the rest of it is left out. */
const MAX_LINE_CHARS = 64 * 1024;

/**
 * The tail of a process's output as lines: both streams interleaved, and stderr alone. Each
 * line also goes to `onLine`; every byte to `output`.
 */
function outputTail(opts: RunProcessOptions) {
  const tailLines = opts.tailLines ?? 40;
  const lines: string[] = [];
  const errLines: string[] = [];
  let partial = { out: "", err: "" };
  const skipping = { out: false, err: false };

  const keep = (key: "out" | "err", line: string) => {
    lines.push(line);
    if (lines.length > tailLines) lines.shift();
    if (key === "err") {
      errLines.push(line);
      if (errLines.length > tailLines) errLines.shift();
    }
    opts.onLine?.(line);
  };
  const collect = (key: "out" | "err") => (chunk: Buffer) => {
    opts.output?.write(chunk);
    let text = chunk.toString("utf8");
    if (skipping[key]) {
      // The rest of an over-long line: left out up to its end.
      const nl = text.indexOf("\n");
      if (nl < 0) return;
      text = text.slice(nl + 1);
      skipping[key] = false;
    }
    const parts = (partial[key] + text).split("\n");
    // A line without end (a 10 MB minified blob, binary) is cut: the tail and the agent's log
    // hold lines, not megabytes. The full output (above) keeps every byte.
    let rest = parts.pop() ?? "";
    if (rest.length > MAX_LINE_CHARS) {
      parts.push(`${rest.slice(0, MAX_LINE_CHARS)} [qgjob: rest of the line left out]`);
      rest = "";
      skipping[key] = true;
    }
    partial = { ...partial, [key]: rest };
    for (const line of parts) keep(key, line);
  };
  return {
    collect,
    /** A line of the agent's own (the spawn failed). */
    note: (line: string) => lines.push(line),
    /** The tails, unfinished last lines included. */
    end() {
      for (const rest of [partial.out, partial.err]) if (rest) lines.push(rest);
      if (partial.err) errLines.push(partial.err);
      return {
        tail: lines.slice(-tailLines).join("\n"),
        errTail: errLines.slice(-tailLines).join("\n"),
      };
    },
  };
}

export function runProcess(
  command: string,
  args: string[],
  opts: RunProcessOptions = {},
): Promise<ProcessResult> {
  const started = performance.now();
  const spawnOpts: SpawnOptions = {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true, // a new process group, led by the child: kill(-pid) reaches all of it
    stdio: ["ignore", "pipe", "pipe"],
  };
  const child = spawn(command, args, spawnOpts);
  const pgid = child.pid;
  if (pgid !== undefined) tracker?.add(pgid);
  let timedOut = false;
  let stopped = false;
  const output = outputTail(opts);
  child.stdout!.on("data", output.collect("out"));
  child.stderr!.on("data", output.collect("err"));

  const killGroup = (why: "timeout" | "stop") => {
    if (why === "timeout") timedOut = true;
    else stopped = true;
    signalGroup(child.pid, "SIGTERM");
    setTimeout(() => signalGroup(child.pid, "SIGKILL"), opts.graceMs ?? 3000).unref();
  };
  const timer = opts.timeoutMs ? setTimeout(() => killGroup("timeout"), opts.timeoutMs) : null;
  const onAbort = () => killGroup("stop");
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  return new Promise((resolve) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      if (pgid !== undefined) tracker?.remove(pgid);
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        ...output.end(),
        durationMs: Math.round(performance.now() - started),
        timedOut,
        stopped,
      });
    };
    child.on("error", (err) => {
      output.note(`${command}: ${err.message}`);
      finish();
    });
    child.on("exit", (code, signal) => {
      exit = { code, signal };
      // Whatever the test left running in its group goes with it (and releases the pipes). After
      // a stop or timeout the group has had SIGTERM and keeps its grace period: a shell leader
      // dies at once, while the test under it may still be running its TERM trap (teardown).
      if (!stopped && !timedOut) signalGroup(child.pid, "SIGKILL");
      // A process that left the group may hold the pipes open: do not wait for it forever.
      setTimeout(finish, 2000).unref();
    });
    child.on("close", finish);
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}
