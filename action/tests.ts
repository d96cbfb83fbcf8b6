/**
 * The `tests` input turned into the test paths of a run, with the CLI's rules (api/test-paths.ts):
 * globs are expanded over files, plain paths are kept as given, every path is relative with
 * forward slashes and may not leave the project, duplicates are dropped.
 *
 * Paths are relative to the *test root*: `working-directory` inside the workspace. That is the
 * folder the agents run tests from (their `--project-dir`, the AppWright project), so a test
 * `examples/demo/tests/a.spec.ts` in the repository is submitted as `tests/a.spec.ts` with
 * `working-directory: examples/demo`. Annotations and JUnit put the prefix back.
 */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { expandTests, isGlob, TestPathError } from "../api/test-paths.js";
import type { RepoPrefix } from "../report/location.js";
import { InputError } from "./inputs.js";
import type { Log } from "./log.js";

/** `prefix`: the same directory, relative to the workspace (the repository). */
export interface TestRoot extends RepoPrefix {
  /** Absolute directory globs are resolved in. */
  dir: string;
}

export function testRoot(workspace: string, workingDirectory: string): TestRoot {
  const dir = resolve(workspace, workingDirectory);
  const rel = relative(workspace, dir);
  if (rel.startsWith("..") || isAbsolute(rel)) {
    throw new InputError(
      `working-directory: '${workingDirectory}' is outside the workspace (${workspace})`,
    );
  }
  return { dir, prefix: rel.replaceAll("\\", "/") };
}

export interface ResolvedTests {
  tests: string[];
  /** Plain paths (not globs) that are not in the checkout: submitted anyway, worth a warning. */
  notFound: string[];
}

export async function resolveTests(patterns: readonly string[], root: TestRoot) {
  const rootExists = existsSync(root.dir) && statSync(root.dir).isDirectory();
  if (!rootExists && patterns.some(isGlob)) {
    throw new InputError(
      `working-directory: ${root.prefix || "."} does not exist in the workspace, so the globs in ` +
        `tests match nothing (check out the repository first, e.g. with actions/checkout)`,
    );
  }
  let tests: string[];
  try {
    tests = await expandTests(patterns, root.dir);
  } catch (err) {
    if (err instanceof TestPathError) throw new InputError(`tests: ${err.message}`);
    throw err;
  }
  const notFound = patterns
    .filter((p) => !isGlob(p))
    .filter((p) => !existsSync(isAbsolute(p) ? p : join(root.dir, p)));
  return { tests, notFound } satisfies ResolvedTests;
}

/**
 * Resolves the `tests` input and logs what it found. A plain path not in the checkout is an
 * input error when the checkout is sent as the bundle (the agents would not have it either);
 * without a bundle it is only a warning, since the agents' own checkout may have it.
 */
export async function collectTests(
  patterns: readonly string[],
  root: TestRoot,
  log: Log,
  bundle: boolean,
): Promise<string[]> {
  const { tests, notFound } = await resolveTests(patterns, root);
  if (notFound.length > 0 && bundle) {
    throw new InputError(
      `tests: not in ${root.prefix || "the workspace"} (the test bundle the agents run): ${notFound.join(", ")}`,
    );
  }
  if (notFound.length > 0) {
    log.warning(
      `qgjob: not in the checkout (submitted as given; the agents must have them): ${notFound.join(", ")}`,
    );
  }
  const shown =
    tests.slice(0, 10).join(", ") + (tests.length > 10 ? `, and ${tests.length - 10} more` : "");
  const where = root.prefix ? ` (in ${root.prefix})` : "";
  log.info(`qgjob: ${tests.length} ${tests.length === 1 ? "test" : "tests"}${where}: ${shown}`);
  return tests;
}
