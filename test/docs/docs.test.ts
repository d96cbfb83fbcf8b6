import { readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ACTION_DOC, ACTION_YML, regenerate } from "../../scripts/docs/action-tables.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** The pages people read: the front door, the files beside it, and docs/. */
const PAGES = [
  "README.md",
  "CONTRIBUTING.md",
  "CHANGELOG.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** Markdown outside fenced code blocks, with inline code blanked (links inside it are text). */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return "";
    }
    return fenced ? "" : line.replace(/`[^`]*`/g, (code) => " ".repeat(code.length));
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
function anchors(markdown: string): Set<string> {
  let fenced = false;
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  for (const [, id] of markdown.matchAll(/<a (?:name|id)="([^"]+)"/g)) out.add(id!);
  return out;
}

function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const line of prose(markdown)) {
    for (const [, target] of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target!)) links.push(target!);
    }
  }
  return links;
}

describe("the documentation", () => {
  it("keeps the README a front door of at most 150 lines", () => {
    expect(read("README.md").trimEnd().split("\n").length).toBeLessThanOrEqual(150);
  });

  it("has no broken relative link or anchor in README.md, CONTRIBUTING.md, CHANGELOG.md and docs/", () => {
    const broken: string[] = [];
    for (const page of PAGES) {
      const text = read(page);
      for (const link of relativeLinks(text)) {
        const [path, anchor] = link.split("#") as [string, string | undefined];
        const file = path === "" ? join(ROOT, page) : resolve(join(ROOT, dirname(page)), path);
        if (!existsSync(file)) {
          broken.push(`${page}: ${link} (no such file)`);
        } else if (anchor !== undefined && statSync(file).isFile() && file.endsWith(".md")) {
          if (!anchors(readFileSync(file, "utf8")).has(anchor)) {
            broken.push(`${page}: ${link} (no heading #${anchor} in ${relative(ROOT, file)})`);
          }
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("generates the Action's input and output tables from action.yml (npm run docs:action)", () => {
    const doc = readFileSync(ACTION_DOC, "utf8");
    expect(doc, "docs/action.md is stale: run npm run docs:action").toBe(
      regenerate(doc, readFileSync(ACTION_YML, "utf8")),
    );
  });

  it("lists every QGJOB_* variable the code reads in docs/configuration.md", () => {
    const table = read("docs/configuration.md");
    const missing = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (entry.name !== "node_modules" && entry.name !== "fixtures") walk(path);
        } else if (/\.(ts|js|mjs)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
          // Names in code (a string, an env read, an object key), not in comments.
          const code = readFileSync(join(ROOT, path), "utf8");
          for (const [, name] of code.matchAll(/(?:["'`.]|^\s*)(QGJOB_[A-Z0-9_]+)\b/gm)) {
            if (!table.includes(`\`${name}\``)) missing.add(`${name} (${path})`);
          }
        }
      }
    };
    for (const dir of [
      "app",
      "api",
      "agent",
      "cli",
      "report",
      "action",
      "examples/appwright-demo",
    ]) {
      walk(dir);
    }
    expect([...missing]).toEqual([]);
  });
});
