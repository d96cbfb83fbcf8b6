/**
 * docs/action.md's input and output tables are generated from action.yml, so the page cannot
 * drift from what the Action accepts: `npm run docs:action` rewrites them, and
 * test/docs/docs.test.ts fails when the committed page differs from a fresh rendering.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

interface ActionYml {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ACTION_YML = `${ROOT}action.yml`;
export const ACTION_DOC = `${ROOT}docs/action.md`;
const START = "<!-- generated from action.yml by npm run docs:action: do not edit -->";
const END = "<!-- end of generated tables -->";

function cell(text: string): string {
  return text.trim().replace(/\s+/g, " ").replace(/\|/g, "\\|");
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [
    line(head),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map(line),
  ].join("\n");
}

export function renderTables(actionYml: string): string {
  const action = parse(actionYml) as ActionYml;
  const inputs = Object.entries(action.inputs).map(([name, i]) => [
    `\`${name}\``,
    i.required ? "(required)" : i.default === undefined ? "" : `\`${cell(String(i.default))}\``,
    cell(i.description),
  ]);
  const outputs = Object.entries(action.outputs).map(([name, o]) => [
    `\`${name}\``,
    cell(o.description),
  ]);
  return [
    START,
    "",
    table(["Input", "Default", "Description"], inputs),
    "",
    table(["Output", "Description"], outputs),
    "",
    END,
  ].join("\n");
}

/** The page with its generated block replaced by a fresh rendering of action.yml. */
export function regenerate(doc: string, actionYml: string): string {
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`${ACTION_DOC}: the generated-tables markers are missing`);
  return doc.slice(0, start) + renderTables(actionYml) + doc.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(ACTION_DOC, "utf8");
  writeFileSync(ACTION_DOC, regenerate(doc, readFileSync(ACTION_YML, "utf8")));
}
