/**
 * The config's `tests` resolved against the pushed commit's tree, with the CLI's rules: globs
 * expand over files, plain paths are kept as given (but must exist at that commit), duplicates are
 * dropped, order is kept. Paths are relative to the config's `root`, the folder agents run from.
 */
import picomatch from "picomatch";
import { MAX_TESTS, TestPath } from "../../api/schemas.js";

const IGNORED = picomatch(["**/node_modules/**", "**/.git/**"], { dot: true });

export interface ResolvedTests {
  tests: string[];
  problems: string[];
}

const clean = (p: string) => p.trim().replace(/^\.\//, "");

export function resolveTests(
  patterns: readonly string[],
  repoFiles: readonly string[],
  root: string,
): ResolvedTests {
  const prefix = root ? `${root}/` : "";
  const files = repoFiles
    .filter((f) => f.startsWith(prefix))
    .map((f) => f.slice(prefix.length))
    .filter((f) => !IGNORED(f));
  const present = new Set(files);
  const tests = new Set<string>();
  const problems: string[] = [];
  const where = root ? ` in ${root}` : "";
  for (const raw of patterns) {
    const pattern = clean(raw);
    if (picomatch.scan(pattern).isGlob) {
      const isMatch = picomatch(pattern);
      const matches = files.filter((f) => isMatch(f));
      if (matches.length === 0) problems.push(`tests: ${raw} matches no file${where}`);
      for (const m of matches) tests.add(m);
      continue;
    }
    const checked = TestPath.safeParse(pattern);
    if (!checked.success) problems.push(`tests: ${raw}: ${checked.error.issues[0]?.message}`);
    else if (!present.has(pattern)) problems.push(`tests: ${raw} is not a file${where}`);
    else tests.add(pattern);
  }
  if (tests.size > MAX_TESTS)
    problems.push(`tests: ${tests.size} files, more than the ${MAX_TESTS} a run may hold`);
  return { tests: [...tests], problems };
}
