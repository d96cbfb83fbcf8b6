import { QgjobError } from "../errors.js";

const ID = /^[a-z]{2,5}_[0-9A-Z]{26}$/;

/** Cursors are opaque to clients: the last id of a page, base64url-encoded. */
export const encodeCursor = (id: string) => Buffer.from(id, "utf8").toString("base64url");

export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!ID.test(id)) {
    throw new QgjobError("invalid_request", "cursor is not one this server handed out", {
      field: "cursor",
    });
  }
  return id;
}

/** One page of newest-first rows: `rows` was read with one row more than `limit` to tell
 * whether another page follows. */
export function page<T extends { id: string }>(rows: T[], limit: number) {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
