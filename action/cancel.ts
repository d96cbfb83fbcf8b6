/**
 * Cancel on signal: when the workflow is cancelled (or the job's own timeout-minutes hits), the
 * runner sends the step SIGINT, then SIGTERM 7.5 s later, then kills it. On the first of those
 * this cancels the run on the server, so the devices stop working for nobody.
 *
 * Cancelling ends the run on the server, which ends the wait's long poll at once: the step then
 * reports as usual (summary, JUnit, outputs) and fails saying why. A safety timer exits the
 * process if that takes longer than the runner would wait anyway.
 *
 * A signal that comes while the submission is in flight is remembered; the run is cancelled as
 * soon as its id is known.
 */
import type { Log } from "./log.js";

export type Signal = "SIGINT" | "SIGTERM";
const SIGNALS: readonly Signal[] = ["SIGINT", "SIGTERM"];

interface SignalSource {
  on(event: Signal, listener: (signal: Signal) => void): unknown;
  off(event: Signal, listener: (signal: Signal) => void): unknown;
}

export interface CancelOnSignalOptions {
  log: Log;
  /** Default: process. */
  source?: SignalSource;
  /** Default: process.exit. */
  exit?: (code: number) => void;
  /** How long the step may take to report after the signal (default 6 s; the runner allows 7.5 s). */
  graceMs?: number;
}

export class CancelOnSignal {
  /** The signal that came, if one did. */
  received: Signal | null = null;
  private runId: string | null = null;
  private cancel: (() => Promise<unknown>) | null = null;
  private cancelling: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private armed = false;

  constructor(private readonly opts: CancelOnSignalOptions) {}

  arm(): this {
    if (!this.armed) {
      for (const s of SIGNALS) this.source.on(s, this.onSignal);
      this.armed = true;
    }
    return this;
  }

  disarm(): void {
    if (this.armed) {
      for (const s of SIGNALS) this.source.off(s, this.onSignal);
      this.armed = false;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The run to cancel on a signal, and how; cancels it now if a signal already came. */
  watch(runId: string, cancel: () => Promise<unknown>): void {
    this.runId = runId;
    this.cancel = cancel;
    if (this.received) this.startCancel();
  }

  /** Resolves when a cancel in progress (if any) has finished. */
  async settled(): Promise<void> {
    await this.cancelling;
  }

  /** At the end of the step: lets a cancel in progress finish, then stops listening. */
  async release(): Promise<void> {
    await this.settled();
    this.disarm();
  }

  private get source(): SignalSource {
    return this.opts.source ?? process;
  }

  private readonly onSignal = (signal: Signal) => {
    if (this.received) return;
    this.received = signal;
    this.opts.log.info(
      `qgjob: ${signal} received (the workflow was cancelled or the job timed out)` +
        (this.runId ? "" : "; no run submitted yet"),
    );
    const exit = this.opts.exit ?? ((code: number) => process.exit(code));
    this.timer = setTimeout(() => exit(1), this.opts.graceMs ?? 6000);
    this.timer.unref();
    if (this.runId) this.startCancel();
  };

  private startCancel() {
    const id = this.runId;
    const cancel = this.cancel;
    if (this.cancelling || !id || !cancel) return;
    this.cancelling = (async () => {
      try {
        await cancel();
        this.opts.log.info(`qgjob: cancelled run ${id} on the server`);
      } catch (err) {
        this.opts.log.warning(`qgjob: could not cancel run ${id}: ${(err as Error).message}`);
      }
    })();
  }
}
