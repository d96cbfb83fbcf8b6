/**
 * Group commit: writes that arrive together share one transaction. A COMMIT writes every page
 * the transaction changed to the WAL, so its cost hardly grows with the writes it carries; with
 * eight agents it was a third of a SQLite lease cycle's CPU (four commits a cycle).
 *
 * Writes wait for the event loop's next turn: those whose requests arrived in this turn commit
 * together, and a write alone runs as it always did. Each write keeps its own transactions,
 * which better-sqlite3 nests as savepoints inside the shared one, so a write that fails is undone
 * alone and the others still commit. Every write is answered only after the shared COMMIT: none
 * is acknowledged before it is as durable as `synchronous` makes it. A COMMIT that fails, or a
 * failure that made SQLite roll the shared transaction back, fails every write of the group.
 */
import type Database from "better-sqlite3";

interface Pending {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

export class GroupCommit {
  private queue: Pending[] = [];

  constructor(private readonly raw: Database.Database) {}

  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.queue.length === 1) setImmediate(() => this.flush());
    });
  }

  /** Runs what is queued now (before the database closes). */
  flush(): void {
    const group = this.queue;
    this.queue = [];
    if (group.length === 0) return;
    if (group.length === 1) return settle(group[0]!, attempt(group[0]!));
    let outcomes: Outcome[];
    try {
      outcomes = this.together(group);
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    group.forEach((w, i) => settle(w, outcomes[i]!));
  }

  /** The group's writes in one transaction; throws when the transaction did not commit. */
  private together(group: Pending[]): Outcome[] {
    this.raw.prepare("BEGIN IMMEDIATE").run();
    const outcomes: Outcome[] = [];
    try {
      for (const w of group) {
        const outcome = attempt(w);
        // SQLite ends the transaction itself on some failures (a full disk, an I/O error):
        // what ran before is gone, and what follows would commit on its own.
        if (!outcome.ok && !this.raw.inTransaction) throw outcome.err;
        outcomes.push(outcome);
      }
      this.raw.prepare("COMMIT").run();
    } catch (err) {
      if (this.raw.inTransaction) this.raw.prepare("ROLLBACK").run();
      throw err;
    }
    return outcomes;
  }
}

function attempt(w: Pending): Outcome {
  try {
    return { ok: true, value: w.work() };
  } catch (err) {
    return { ok: false, err };
  }
}

function settle(w: Pending, outcome: Outcome) {
  if (outcome.ok) w.resolve(outcome.value);
  else w.reject(outcome.err);
}
