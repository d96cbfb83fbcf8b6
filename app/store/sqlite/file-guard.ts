/**
 * Keeps a server from acknowledging writes its SQLite file will not keep.
 *
 * - A write that fails on the storage (SQLITE_FULL, an I/O error, a read-only file system, a
 *   file that cannot be opened) puts the guard at fault; so does the file being deleted,
 *   renamed or replaced under the server (its device and inode no longer those opened, or its
 *   header no longer SQLite's). While at fault every write answers 503 `storage_unavailable`
 *   with Retry-After, and /readyz fails; reads go on.
 * - It recovers by itself: once a second it looks again, and clears a storage fault when the
 *   file is still the one opened and its directory has room and is writable (the next write
 *   tells whether it really is), or when the very file opened is back under its name. A file
 *   replaced by another never clears: that takes a restart.
 * - The identity is also checked before each write (a stat, microseconds), so nothing is
 *   acknowledged into an unlinked file between two looks.
 */
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readSync,
  statfsSync,
  statSync,
} from "node:fs";
import { dirname } from "node:path";
import { QgjobError } from "../../errors.js";

/** Room a recovering directory must have before writes are let through again. */
const MIN_FREE_BYTES = 1024 * 1024;
const HEADER = "SQLite format 3\0";
const STORAGE_CODES = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|NOTADB|CORRUPT)/;

export interface Fault {
  kind: "storage" | "replaced";
  message: string;
}

export class FileGuard {
  fault: Fault | null = null;
  private readonly identity: { dev: number; ino: number };
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly path: string) {
    const st = statSync(path);
    this.identity = { dev: st.dev, ino: st.ino };
  }

  start(everyMs = 1000) {
    this.timer = setInterval(() => this.look(), everyMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }

  /** Before a write: throws 503 while at fault (or the file just went). */
  beforeWrite() {
    const moved = this.moved();
    if (moved) this.fault = { kind: "replaced", message: moved };
    if (this.fault) throw unavailable(this.fault);
  }

  /** After a failed call: a storage failure becomes a fault and a 503; anything else is rethrown. */
  failed(err: unknown): never {
    if (err instanceof QgjobError) throw err;
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && STORAGE_CODES.test(code)) {
      this.fault ??= { kind: "storage", message: `${code}: ${(err as Error).message}` };
      throw unavailable(this.fault);
    }
    throw err;
  }

  /** The periodic look: detects a moved file, clears a storage fault once writable again. */
  look() {
    const moved = this.moved() ?? this.badHeader();
    if (moved) {
      this.fault = { kind: "replaced", message: moved };
      return;
    }
    // Back under its name (renamed back, remounted), or room again: writes may go on.
    if (this.fault?.kind === "replaced" || (this.fault && this.roomToWrite())) this.fault = null;
  }

  private moved(): string | null {
    try {
      const st = statSync(this.path);
      if (st.dev === this.identity.dev && st.ino === this.identity.ino) return null;
      return `the database file ${this.path} was replaced by another file`;
    } catch {
      return `the database file ${this.path} was deleted or renamed`;
    }
  }

  private badHeader(): string | null {
    let fd: number | null = null;
    try {
      fd = openSync(this.path, "r");
      const buf = Buffer.alloc(16);
      const n = readSync(fd, buf, 0, 16, 0);
      // An empty file is a database SQLite has not written yet; anything else must be SQLite's.
      if (n === 0 || buf.toString("latin1") === HEADER) return null;
      return `the database file ${this.path} no longer holds a SQLite database`;
    } catch (err) {
      return `the database file ${this.path} cannot be read: ${(err as Error).message}`;
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }

  private roomToWrite(): boolean {
    try {
      const dir = dirname(this.path);
      accessSync(dir, constants.W_OK);
      accessSync(this.path, constants.W_OK);
      const fs = statfsSync(dir);
      return fs.bavail * fs.bsize >= MIN_FREE_BYTES;
    } catch {
      return false;
    }
  }
}

function unavailable(fault: Fault) {
  return new QgjobError(
    "storage_unavailable",
    fault.kind === "replaced"
      ? `${fault.message}: writes are refused until it is back or the server restarts`
      : `the database cannot be written (${fault.message}); retry later`,
  );
}
