/**
 * Turns the test arguments of a submission (`qgjob submit --test`, the Action's `tests` input)
 * into the test paths of a run.
 *
 * - A glob (`tests/**\/*.spec.js`, `tests/{a,b}.spec.js`) is expanded here, relative to the current
 *   directory, over files only, skipping node_modules and .git. A glob that matches nothing is an
 *   error: it is almost always a typo or the wrong directory.
 * - A plain path is submitted as given, whether or not it exists here: the tests live on the
 *   agent's checkout, and the CLI may run from anywhere (a laptop, a CI job without the sources).
 * - Every path is kept relative with forward slashes (`./a.js` -> `a.js`); an absolute path inside
 *   the current directory is made relative to it, anything else that would leave the project is
 *   refused here with the same rule the server applies.
 * - Duplicates are dropped, keeping the first occurrence; glob matches are sorted.
 */
import { isAbsolute, relative, sep } from "node:path";
import { posix } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { TestPath } from "./schemas.js";

/** A test argument that cannot be submitted; each caller names its own flag or input. */
export class TestPathError extends Error {
  constructor(
    /** The argument as given, or null when the problem is not one argument. */
    readonly arg: string | null,
    readonly reason: string,
  ) {
    super(arg === null ? reason : `${arg}: ${reason}`);
  }
}

const IGNORE = ["**/node_modules/**", "**/.git/**"];

export function isGlob(arg: string): boolean {
  return isDynamicPattern(arg);
}

/** A test path relative to `cwd`, with forward slashes, validated like the server does. */
export function normalizeTestPath(arg: string, cwd: string): string {
  let p = arg.trim();
  if (isAbsolute(p)) {
    const rel = relative(cwd, p);
    if (rel === "" || rel.startsWith("..") || isAbsolute(rel)) {
      throw new TestPathError(
        arg,
        "outside the current directory; give a path relative to the project root",
      );
    }
    p = rel;
  }
  if (sep === "\\" || p.includes("\\")) p = p.replaceAll("\\", "/");
  p = posix.normalize(p);
  if (p.startsWith("./")) p = p.slice(2);
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  const checked = TestPath.safeParse(p);
  if (!checked.success) {
    throw new TestPathError(arg, checked.error.issues[0]?.message ?? "not a test path");
  }
  return checked.data;
}

/** Expands globs and normalizes paths, in the order given. */
export async function expandTests(args: readonly string[], cwd: string): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (p: string) => {
    if (!seen.has(p)) {
      seen.add(p);
      out.push(p);
    }
  };
  for (const arg of args) {
    if (arg.trim() === "") throw new TestPathError(null, "empty path");
    if (!isGlob(arg)) {
      add(normalizeTestPath(arg, cwd));
      continue;
    }
    // On Windows a backslash is a separator; elsewhere it escapes a glob character.
    const pattern = sep === "\\" ? arg.replaceAll("\\", "/") : arg;
    const matches = await glob(pattern, {
      cwd,
      onlyFiles: true,
      expandDirectories: false,
      ignore: IGNORE,
    });
    if (matches.length === 0) {
      throw new TestPathError(arg, `no files match this pattern in ${cwd}`);
    }
    for (const m of matches.sort()) add(normalizeTestPath(m, cwd));
  }
  return out;
}
