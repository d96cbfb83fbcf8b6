/**
 * Connection limits, so slow or idle clients cannot starve the rest:
 * - a cap on the open connections of one remote address (a slowloris from one host fills only
 *   its own share) and on all of them together (kept below the process's file-descriptor limit,
 *   so accept() never fails with EMFILE and leaves new clients hanging in the backlog);
 * - the request timeout (config requestTimeoutS) cuts a request whose body never finishes.
 *   It bounds receiving the request only: a long poll waiting to answer is not affected.
 * Over a cap the new connection is closed at once: clients see a reset and retry (agents back
 * off), instead of hanging.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { Socket } from "node:net";

export interface ConnectionLimits {
  /** Open connections of one remote address. */
  perAddress: number;
  /** All open connections; 0: the file-descriptor limit less a reserve. */
  total: number;
}

/** File descriptors kept back for the database, logs, blobs and outgoing connections. */
const FD_RESERVE = 128;

/** The soft limit on open files (Linux); null where it cannot be read. */
function openFilesLimit(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : null;
  } catch {
    return null;
  }
}

export function totalConnectionCap(configured: number): number {
  if (configured > 0) return configured;
  const fds = openFilesLimit();
  return fds === null ? 10_000 : Math.max(64, fds - FD_RESERVE);
}

export function installConnectionLimits(server: Server, limits: ConnectionLimits) {
  const byAddress = new Map<string, number>();
  server.maxConnections = totalConnectionCap(limits.total);
  server.on("connection", (socket: Socket) => {
    const address = socket.remoteAddress ?? "";
    const open = (byAddress.get(address) ?? 0) + 1;
    if (open > limits.perAddress) {
      socket.destroy();
      return;
    }
    byAddress.set(address, open);
    socket.once("close", () => {
      const left = (byAddress.get(address) ?? 1) - 1;
      if (left <= 0) byAddress.delete(address);
      else byAddress.set(address, left);
    });
  });
}
