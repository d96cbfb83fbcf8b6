/**
 * The Android device log of one test's time window: `adb logcat -d` (dump and exit) from the
 * moment the test started (`-T`, in the device's "MM-DD hh:mm:ss.mmm" format), written to a
 * file the agent attaches as the attempt's logcat. A missing adb or device costs the artifact,
 * never the result.
 */
import { runProcess } from "../process.js";
import { OutputLog } from "./output-log.js";

export interface LogcatOptions {
  /** adb's -s serial; null: the only device adb sees. */
  device: string | null;
  /** The adb binary (default `adb` on PATH, or $ANDROID_HOME/platform-tools/adb). */
  adb?: string;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** logcat's -T time: local time, as the device prints it. */
export function logcatSince(at: Date): string {
  return (
    `${pad(at.getMonth() + 1)}-${pad(at.getDate())} ` +
    `${pad(at.getHours())}:${pad(at.getMinutes())}:${pad(at.getSeconds())}.${pad(at.getMilliseconds(), 3)}`
  );
}

export function logcatArgs(opts: LogcatOptions, since: Date): string[] {
  return [
    ...(opts.device ? ["-s", opts.device] : []),
    "logcat",
    "-d",
    "-v",
    "threadtime",
    "-T",
    logcatSince(since),
  ];
}

function adbPath(opts: LogcatOptions): string {
  if (opts.adb) return opts.adb;
  const home = process.env.ANDROID_HOME ?? process.env.ANDROID_SDK_ROOT;
  return home ? `${home}/platform-tools/adb` : "adb";
}

/** Writes the window's log to `file`; resolves with an error message when it could not. */
export async function captureLogcat(
  opts: LogcatOptions,
  since: Date,
  file: string,
): Promise<string | null> {
  const out = new OutputLog(file);
  const result = await runProcess(adbPath(opts), logcatArgs(opts, since), {
    timeoutMs: 30_000,
    output: out,
  });
  await out.close().catch(() => undefined);
  if (result.exitCode === 0) return null;
  return `adb logcat failed (${result.exitCode ?? result.signal}): ${result.tail.split("\n").pop() ?? ""}`;
}
