/**
 * Test processes never outlive their agent. Every test runs in its own process group
 * (agent/process.ts); the supervisor keeps the live groups in two places:
 *  - a watchdog: a tiny detached node process reading the groups on a pipe from the agent. When
 *    the pipe closes (the agent exited, however it died, SIGKILL included) it kills every group
 *    still listed, then exits;
 *  - a pidfile (one `pgid starttime` line per group), so that an agent restarted after both
 *    were killed (a reboot of the container, a kill of everything) ends the leftovers before it
 *    registers and takes new work for the same device.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Socket } from "node:net";
import { setGroupTracker } from "./process.js";

// Runs as `node -e`: no file to find, the same under tsx and from dist/. Ignores the terminal's
// signals (the agent drains on them and closes the pipe when done).
const WATCHDOG = `
const groups = new Set();
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(s, () => {});
let buf = "";
process.stdin.on("data", (d) => {
  buf += d;
  for (let i; (i = buf.indexOf("\\n")) >= 0; buf = buf.slice(i + 1)) {
    const line = buf.slice(0, i), pid = Number(line.slice(1));
    if (line[0] === "+") groups.add(pid); else groups.delete(pid);
  }
});
const end = () => {
  for (const g of groups) { try { process.kill(-g, "SIGKILL"); } catch {} }
  process.exit(0);
};
process.stdin.on("end", end);
process.stdin.on("error", end);
`;

/** The process's start time (clock ticks since boot), so a reused pid is not taken for ours. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process has exited: gone, or a zombie nobody has reaped yet (its ports are free). */
function hasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] === "Z";
  } catch {
    // No entry (gone), or no /proc (macOS): ask the kernel.
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * The groups that still have a live (not zombie) member, from /proc; null without /proc. A
 * group's leader may be gone while a member still holds a port (Appium's server under its
 * launcher), so a group counts as ended only when every member has.
 */
function liveGroups(pgids: number[]): Set<number> | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const wanted = new Set(pgids);
  const live = new Set<number>();
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // After the command's closing parenthesis: state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state !== "Z" && wanted.has(Number(pgrp))) live.add(Number(pgrp));
  }
  return live;
}

/** Waits (at most `ms`) until every process of these groups has exited. */
async function exited(pgids: number[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const running = () => {
    const live = liveGroups(pgids);
    return live === null ? pgids.some((pid) => !hasExited(pid)) : live.size > 0;
  };
  while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

export class GroupSupervisor {
  private readonly groups = new Map<number, string>();
  private watchdog: ChildProcess | null = null;

  private constructor(private readonly pidfile: string) {}

  /**
   * Kills the groups a previous agent of this pidfile left running (its tests, its Appium
   * server) and waits until their leaders have exited, so a port they held is free; then starts
   * watching. Answers how many leftover groups it killed.
   */
  static async start(pidfile: string): Promise<{ supervisor: GroupSupervisor; killed: number }> {
    const supervisor = new GroupSupervisor(pidfile);
    const leftovers = supervisor.killLeftovers();
    await exited(leftovers, 5000);
    const killed = leftovers.length;
    supervisor.watchdog = spawn(process.execPath, ["-e", WATCHDOG], {
      detached: true, // its own group: a kill of the agent's group does not take it along
      stdio: ["pipe", "ignore", "ignore"],
    });
    supervisor.watchdog.unref();
    (supervisor.watchdog.stdin as Socket).unref();
    supervisor.watchdog.stdin!.on("error", () => undefined);
    setGroupTracker(supervisor);
    return { supervisor, killed };
  }

  get watchdogPid(): number | undefined {
    return this.watchdog?.pid;
  }

  add(pgid: number) {
    this.groups.set(pgid, startTime(pgid) ?? "");
    this.watchdog?.stdin?.write(`+${pgid}\n`);
    this.save();
  }

  remove(pgid: number) {
    this.groups.delete(pgid);
    this.watchdog?.stdin?.write(`-${pgid}\n`);
    this.save();
  }

  /** A clean exit: nothing is left to kill. */
  stop() {
    setGroupTracker(null);
    this.watchdog?.stdin?.end();
    this.watchdog = null;
  }

  /** The leftover groups it killed. */
  private killLeftovers(): number[] {
    let text: string;
    try {
      text = readFileSync(this.pidfile, "utf8");
    } catch {
      return [];
    }
    const killed: number[] = [];
    for (const line of text.split("\n")) {
      const [pid, started] = line.split(" ");
      const pgid = Number(pid);
      if (!Number.isInteger(pgid) || pgid <= 1) continue;
      // Without /proc (macOS) the start time is unknown and the group is killed on the pid alone.
      if (started && startTime(pgid) !== started) continue;
      try {
        process.kill(-pgid, "SIGKILL");
        killed.push(pgid);
      } catch {
        // Already gone.
      }
    }
    this.save();
    return killed;
  }

  private save() {
    mkdirSync(dirname(this.pidfile), { recursive: true });
    const text = [...this.groups].map(([pid, started]) => `${pid} ${started}\n`).join("");
    writeFileSync(`${this.pidfile}.tmp`, text);
    renameSync(`${this.pidfile}.tmp`, this.pidfile);
  }
}
