/**
 * A test's full output, written to a file as it comes, capped: the first half of the cap is
 * written straight through, the last half is kept in memory and appended at the end, with a
 * line saying how much was left out in between. So a runaway test costs at most the cap on
 * disk and half of it in memory, and both the start (setup) and the end (the failure) survive.
 */
import { createWriteStream, type WriteStream } from "node:fs";

export const DEFAULT_OUTPUT_CAP = 5 * 1024 * 1024;

export class OutputLog {
  private readonly out: WriteStream;
  private readonly headCap: number;
  private readonly tailCap: number;
  private written = 0;
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private dropped = 0;
  private failed: Error | null = null;

  constructor(
    readonly path: string,
    cap = DEFAULT_OUTPUT_CAP,
  ) {
    this.headCap = Math.floor(cap / 2);
    this.tailCap = cap - this.headCap;
    this.out = createWriteStream(path);
    this.out.on("error", (err) => (this.failed = err));
  }

  write(chunk: Buffer) {
    if (this.written < this.headCap) {
      const room = this.headCap - this.written;
      const head = chunk.subarray(0, room);
      this.out.write(head);
      this.written += head.length;
      chunk = chunk.subarray(head.length);
      if (chunk.length === 0) return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes > this.tailCap) {
      const first = this.tail[0]!;
      const over = this.tailBytes - this.tailCap;
      if (first.length <= over) {
        this.tail.shift();
        this.tailBytes -= first.length;
        this.dropped += first.length;
      } else {
        this.tail[0] = first.subarray(over);
        this.tailBytes -= over;
        this.dropped += over;
      }
    }
  }

  /** Flushes and closes; resolves with the bytes on disk, or rejects if the file could not be written. */
  async close(): Promise<number> {
    if (this.dropped > 0) {
      this.out.write(`\n[qgjob: ${this.dropped} bytes of output left out here]\n`);
    }
    for (const part of this.tail) this.out.write(part);
    await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failed) throw this.failed;
    return this.out.bytesWritten;
  }
}
