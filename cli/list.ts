/**
 * What the list commands (`runs list`, `jobs list`, `agents`, `queue`) share: `--limit`, pages
 * followed until the limit, and output as a table for people or JSON (`--json`) for scripts.
 */
import { InvalidArgumentError, Option } from "commander";
import { table } from "./output.js";
import { styleFor, type Style } from "./style.js";

export const DEFAULT_LIMIT = 30;
/** The most one command lists: ten of the API's largest pages. */
const MAX_LIMIT = 5000;
const PAGE_MAX = 500;

export function limitOption(): Option {
  return new Option("--limit <n>", `at most this many (default ${DEFAULT_LIMIT})`)
    .default(DEFAULT_LIMIT)
    .argParser((value: string) => {
      const n = Number(value);
      if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_LIMIT) {
        throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_LIMIT}.`);
      }
      return n;
    });
}

/** Follows `next_cursor` until `limit` items (or the last page) came back. */
export async function collectPages<T>(
  limit: number,
  page: (q: {
    limit: number;
    cursor?: string;
  }) => Promise<{ items: T[]; next_cursor: string | null }>,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  while (items.length < limit) {
    const got = await page({ limit: Math.min(PAGE_MAX, limit - items.length), cursor });
    items.push(...got.items);
    if (got.next_cursor === null || got.items.length === 0) break;
    cursor = got.next_cursor;
  }
  return items.slice(0, limit);
}

export interface Columns<T> {
  header: string[];
  row: (item: T, style: Style) => string[];
  /** Columns holding a status word, coloured on a terminal. */
  status?: number[];
  /** Said instead of an empty table. */
  empty: string;
}

/** The items as JSON (`--json`: `{"items": [...]}`), or a table on stdout. */
export function printList<T>(items: T[], json: boolean | undefined, columns: Columns<T>) {
  if (json) {
    process.stdout.write(JSON.stringify({ items }, null, 2) + "\n");
    return;
  }
  if (items.length === 0) {
    process.stderr.write(`${columns.empty}\n`);
    return;
  }
  const style = styleFor(process.stdout);
  const rows = items.map((item) => columns.row(item, style));
  process.stdout.write(table(columns.header, rows, style, columns.status) + "\n");
}
