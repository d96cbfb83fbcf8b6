/**
 * Running tests' output as it comes: the last chunks of each job in a bounded ring, and the
 * watchers following them. Chunks travel through the store's relay (a NOTIFY per chunk on
 * Postgres), so every replica holds the same rings and a watcher may be on any replica; a
 * replica that started after a chunk was posted does not have it (the finished log is the
 * attempt's `output.log` artifact, which does not depend on this).
 *
 * Memory is bounded twice: `perJobChars` of text per job (the oldest chunks go first) and
 * `jobs` rings in all (the job that posted least recently goes first).
 */
import { parseLogEventId, type LogChunksRequest, type LogEvent } from "../api/logs.js";
import type { Relay } from "./store/store.js";

export interface LiveLogOptions {
  perJobChars?: number;
  jobs?: number;
}

type Listener = (event: LogEvent) => void;

interface Ring {
  events: LogEvent[];
  chars: number;
}

const MESSAGE = "log";

const after = (a: LogEvent, attempt: number, seq: number) =>
  a.attempt > attempt || (a.attempt === attempt && a.seq > seq);

export class LiveLogs {
  private readonly rings = new Map<string, Ring>();
  private readonly watchers = new Map<string, Set<Listener>>();
  private readonly perJobChars: number;
  private readonly maxJobs: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly relay: Relay,
    opts: LiveLogOptions = {},
  ) {
    this.perJobChars = opts.perJobChars ?? 256 * 1024;
    this.maxJobs = opts.jobs ?? 256;
    this.unsubscribe = relay.subscribe((message) => this.receive(message));
  }

  /**
   * Sends an agent's chunks to every replica (this one hears them back through the relay);
   * resolves once they are sent, so a result posted after this is heard after them.
   */
  async post(jobId: string, req: LogChunksRequest): Promise<void> {
    const sent = req.chunks.map((c) =>
      this.relay.publish(
        [MESSAGE, jobId, req.attempt, c.seq, req.dropped_bytes, c.data || "-"].join(" "),
      ),
    );
    await Promise.all(sent);
  }

  /** What the ring still holds after the event `lastId` (all of it for null). */
  since(jobId: string, lastId: string | null): LogEvent[] {
    const events = this.rings.get(jobId)?.events ?? [];
    if (lastId === null) return [...events];
    const { attempt, seq } = parseLogEventId(lastId);
    return events.filter((e) => after(e, attempt, seq));
  }

  /** Calls `listener` with each chunk of the job that arrives from now on. */
  follow(jobId: string, listener: Listener): () => void {
    let set = this.watchers.get(jobId);
    if (!set) this.watchers.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.watchers.get(jobId) === set) this.watchers.delete(jobId);
    };
  }

  /** Jobs held and their text, for tests and metrics. */
  get held(): { jobs: number; chars: number } {
    let chars = 0;
    for (const r of this.rings.values()) chars += r.chars;
    return { jobs: this.rings.size, chars };
  }

  close(): void {
    this.unsubscribe();
  }

  private receive(message: string) {
    const [kind, jobId, attempt, seq, dropped, data] = message.split(" ");
    if (kind !== MESSAGE || !jobId || data === undefined) return;
    const event: LogEvent = {
      attempt: Number(attempt),
      seq: Number(seq),
      dropped_bytes: Number(dropped),
      // The agent cuts chunks between characters: each decodes on its own.
      text: data === "-" ? "" : Buffer.from(data, "base64").toString("utf8"),
    };
    if (!this.store(jobId, event)) return;
    for (const listener of this.watchers.get(jobId) ?? []) listener(event);
  }

  /** False for a chunk the ring has already (a post the agent repeated). */
  private store(jobId: string, event: LogEvent): boolean {
    let ring = this.rings.get(jobId);
    if (ring) this.rings.delete(jobId); // re-inserted last: the most recently posted
    ring ??= { events: [], chars: 0 };
    this.rings.set(jobId, ring);
    const { events } = ring;
    // Chunks come in order unless posts of one agent reached two replicas; insert in place.
    let i = events.length;
    while (i > 0 && after(events[i - 1]!, event.attempt, event.seq)) i--;
    const prev = events[i - 1];
    if (prev && prev.attempt === event.attempt && prev.seq === event.seq) return false;
    events.splice(i, 0, event);
    ring.chars += event.text.length;
    while (ring.chars > this.perJobChars && events.length > 1) {
      ring.chars -= events.shift()!.text.length;
    }
    while (this.rings.size > this.maxJobs) {
      this.rings.delete(this.rings.keys().next().value!);
    }
    return true;
  }
}
