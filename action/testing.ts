/** Test helper for the Action's modules: the parts of action.yml the code must agree with. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface ActionYml {
  inputs: Record<string, { required: boolean; default: string | undefined }>;
  outputs: string[];
  runs: Record<string, string>;
}

export const ACTION_YML = join(import.meta.dirname, "..", "action.yml");

/**
 * The parts of action.yml the tests compare with the code: a reader for this one file's shape
 * (two-space nesting, one-line scalars), not a YAML parser.
 */
export function readActionYml(path = ACTION_YML): ActionYml {
  const out: ActionYml = { inputs: {}, outputs: [], runs: {} };
  let section = "";
  let current = "";
  const scalar = (text: string) => text.trim().replace(/^(["'])(.*)\1$/, "$2");
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const top = /^([a-z-]+):\s*(.*)$/.exec(line);
    if (top) {
      section = top[1]!;
      continue;
    }
    const entry = /^ {2}([a-z-]+):\s*(.*)$/.exec(line);
    if (entry) {
      current = entry[1]!;
      if (section === "inputs") out.inputs[current] = { required: false, default: undefined };
      if (section === "outputs") out.outputs.push(current);
      if (section === "runs") out.runs[current] = scalar(entry[2]!);
      continue;
    }
    const prop = /^ {4}(required|default):\s*(.*)$/.exec(line);
    if (prop && section === "inputs") {
      const input = out.inputs[current]!;
      if (prop[1] === "required") input.required = scalar(prop[2]!) === "true";
      else input.default = scalar(prop[2]!);
    }
  }
  return out;
}
