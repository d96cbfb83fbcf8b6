/**
 * Imports point down: the parts a newcomer reads first (api/, report/) depend on nothing above
 * them, and the server, the Action and the agent never reach into the CLI or each other.
 * Fixed-order rules over every TypeScript file, tests included, read as text.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");

/** For the files under a folder: the folders they may not import from. */
const FORBIDDEN: Record<string, readonly string[]> = {
  api: ["app", "cli", "action", "agent", "report"],
  report: ["app", "cli", "action", "agent"],
  "app/scheduler": ["app/store", "app/http", "app/github"],
  "app/store": ["app/http", "app/github"],
  "app/github": ["app/http"],
  app: ["cli", "action", "agent"],
  action: ["app", "cli", "agent"],
  agent: ["app", "cli", "action"],
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

/** The repository-relative paths of the relative imports of one file. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(SPECIFIER)]
    .map((m) => m[1]!)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)));
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

export function violations(files: readonly string[], read = importsOf): string[] {
  const out: string[] = [];
  for (const file of files) {
    const rules = Object.keys(FORBIDDEN).filter((folder) => inside(file, folder));
    for (const target of read(file)) {
      for (const rule of rules) {
        const bad = FORBIDDEN[rule]!.find((folder) => inside(target, folder));
        if (bad) out.push(`${file} imports ${target} (${rule}/ may not import ${bad}/)`);
      }
    }
  }
  return out;
}

describe("import direction", () => {
  it("finds a wrong-way import (the check can fail)", () => {
    const fake = (file: string) =>
      file === "app/github/x.ts" ? ["cli/output.js", "app/http/present.js"] : ["api/schemas.js"];
    expect(violations(["app/github/x.ts", "action/y.ts", "cli/z.ts"], fake)).toEqual([
      "app/github/x.ts imports cli/output.js (app/ may not import cli/)",
      "app/github/x.ts imports app/http/present.js (app/github/ may not import app/http/)",
    ]);
    expect(violations(["action/y.ts"], () => ["cli/progress.js"])).toEqual([
      "action/y.ts imports cli/progress.js (action/ may not import cli/)",
    ]);
  });

  it("holds for every file: app/ and action/ never import cli/, api/ and report/ import nothing above them", () => {
    const files = ["api", "report", "app", "action", "agent"].flatMap(sources);
    expect(files.length).toBeGreaterThan(100);
    expect(violations(files)).toEqual([]);
  });
});
