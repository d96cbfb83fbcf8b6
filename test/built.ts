/**
 * The tests' own build of qgjob (app, api, agent, cli, report) in dist/test-build, made once per
 * vitest run (globalSetup in vitest.config.ts and vitest.faults.config.ts) and only when the
 * sources changed since the last one. End-to-end tests start the CLI, servers and agents from it
 * with plain `node`, as users run the package: under `--import tsx` every process compiled the
 * TypeScript again, about a CPU-second per start.
 *
 * Not dist/ itself: `npm pack` (test/package) rebuilds that in place, while other files' processes
 * may be starting from it. Emitted without type-checking (`npm run typecheck` does that).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
export const BUILD_DIR = join(ROOT, "dist/test-build");
/** `node` arguments that start the built CLI: `[process.execPath, ...CLI, "server", ...]`. */
export const CLI = [join(BUILD_DIR, "cli/main.js")];

const SOURCES = ["app", "api", "agent", "cli", "report"];
const CONFIG = ["tsconfig.json", "tsconfig.build.json"];
const STAMP = ".sources";

/** Every source file's path, size and modification time: a change to any is a new build. */
function fingerprint(): string {
  const hash = createHash("sha256");
  const files = [
    ...CONFIG,
    ...SOURCES.flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" }).map((f) => join(dir, f)),
    ),
  ].sort();
  for (const file of files) {
    const stat = statSync(join(ROOT, file));
    if (stat.isFile()) hash.update(`${file}\0${stat.size}\0${stat.mtimeMs}\n`);
  }
  return hash.digest("hex");
}

export default function buildForTests(): void {
  const want = fingerprint();
  const stamp = join(BUILD_DIR, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === want) return;
  // Built beside it and swapped in whole, so that a half-written build is never used.
  const next = `${BUILD_DIR}-${process.pid}`;
  rmSync(next, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(
    process.execPath,
    [tsc, "-p", "tsconfig.build.json", "--noCheck", "--sourceMap", "false", "--outDir", next],
    { cwd: ROOT, stdio: "inherit" },
  );
  for (const engine of ["sqlite", "postgres"]) {
    const migrations = `app/store/${engine}/migrations`;
    cpSync(join(ROOT, migrations), join(next, migrations), { recursive: true });
  }
  writeFileSync(join(next, STAMP), want);
  rmSync(BUILD_DIR, { recursive: true, force: true });
  renameSync(next, BUILD_DIR);
}
