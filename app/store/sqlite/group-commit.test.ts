/** Group commit on a real SQLite file: what a group's writes share, and what one's failure costs the others. */
import Database from "better-sqlite3";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../../test/harness.js";
import { GroupCommit } from "./group-commit.js";

let dir: string;
let raw: Database.Database;
let group: GroupCommit;

beforeEach(() => {
  dir = tempDir("qgjob-group-commit-");
  raw = new Database(join(dir, "q.db"));
  raw.pragma("journal_mode = WAL");
  raw.pragma("foreign_keys = ON");
  raw.exec(`create table parents (id text primary key);
    create table notes (id text primary key,
      parent text references parents (id) deferrable initially deferred)`);
  group = new GroupCommit(raw);
});
afterEach(() => {
  raw.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A write as the store's are: its own transaction. */
const note =
  (id: string, parent: string | null = null) =>
  () =>
    raw
      .transaction(() => raw.prepare("insert into notes values (?, ?)").run(id, parent))
      .immediate();

/** What another connection reads: only what was committed. */
function committed(): string[] {
  const reader = new Database(join(dir, "q.db"), { readonly: true });
  try {
    return reader.prepare("select id from notes order by id").pluck().all() as string[];
  } finally {
    reader.close();
  }
}

describe("group commit", () => {
  it("runs writes that arrive together in one transaction, and a lone write on its own", async () => {
    const shared = await Promise.all(
      ["a", "b", "c"].map((id) =>
        group.run(() => {
          const inGroup = raw.inTransaction;
          note(id)();
          return inGroup;
        }),
      ),
    );
    expect(shared).toEqual([true, true, true]);
    expect(await group.run(() => raw.inTransaction)).toBe(false);
    expect(committed()).toEqual(["a", "b", "c"]);
  });

  it("undoes a write that fails alone: the others of its group commit", async () => {
    const writes = [
      group.run(note("a")),
      group.run(() =>
        raw
          .transaction(() => {
            note("b")();
            throw new Error("refused");
          })
          .immediate(),
      ),
      group.run(note("c")),
    ];
    const settled = await Promise.allSettled(writes);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(committed()).toEqual(["a", "c"]);
  });

  it("fails every write of a group whose COMMIT fails, and stores none of them", async () => {
    // A deferred foreign key is checked at COMMIT: the group cannot commit.
    const settled = await Promise.allSettled([
      group.run(note("a")),
      group.run(note("b", "no-such-parent")),
      group.run(note("c")),
    ]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(committed()).toEqual([]);
    // The connection is usable again.
    await group.run(note("d"));
    expect(committed()).toEqual(["d"]);
  });

  it("runs what is queued when flushed before the database closes", async () => {
    const write = group.run(note("a"));
    group.flush();
    await write;
    expect(committed()).toEqual(["a"]);
  });
});
