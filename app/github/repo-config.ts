/**
 * `.github/qgjob.yml`: what a push runs. Parsed with `yaml`, checked with zod; every problem is
 * reported with where it is (the key path and the line), because the only place the author sees it
 * is a failed check run's summary.
 */
import { isNode, LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { AppVersionId, DeviceName, OrgId, Target, TestPath } from "../../api/schemas.js";

export const CONFIG_PATH = ".github/qgjob.yml";

const Folder = z
  .string()
  .max(512)
  .refine((p) => !p.startsWith("/") && !p.split("/").includes(".."), "a folder in the repository")
  .transform((p) => p.replace(/^\.\/?/, "").replace(/\/+$/, ""));

const AppVersionSource = z.union(
  [
    AppVersionId,
    z.strictObject({ from: z.literal("sha") }),
    z.strictObject({
      from: z.literal("file"),
      path: TestPath.describe("a file in the repository whose first line is the app version"),
    }),
  ],
  { error: "an app version id, { from: sha } or { from: file, path: <file> }" },
);

const TargetEntry = z.union(
  [Target, z.strictObject({ target: Target, device: DeviceName.optional() })],
  { error: `one of ${Target.options.join(", ")}, or { target: <target>, device: <name> }` },
);

const Pattern = z.string().min(1).max(1024);

export const RepoConfig = z.strictObject({
  /** The qgjob org; only the installation's own is accepted (see github/org.ts). */
  org: OrgId.optional(),
  app_version: AppVersionSource.default({ from: "sha" }),
  /** The test project's folder: the run's bundle, the folder agents run from; tests are relative to it. */
  root: Folder.default(""),
  /** false: no bundle is sent; agents run the tests of their own checkout (`qgjob submit --no-bundle`). */
  bundle: z.boolean().default(true),
  /** A push stops the unfinished runs of earlier pushes to its branch (per target and device). */
  supersede: z.boolean().default(true),
  tests: z.array(Pattern).min(1).max(500),
  targets: z
    .array(TargetEntry)
    .min(1)
    .max(10)
    .default(["emulator"])
    .transform((list) =>
      list.map((t) => (typeof t === "string" ? { target: t, device: undefined } : t)),
    ),
  priority: z.number().int().min(0).max(10).default(5),
  retries: z.number().int().min(0).max(5).default(0),
  max_attempts: z.number().int().min(1).max(10).default(3),
  timeout_s: z
    .number()
    .int()
    .min(1)
    .max(6 * 3600)
    .default(900),
  /** Branch name globs a push must match; every branch when absent. */
  branches: z.array(Pattern).min(1).max(50).optional(),
});
export type RepoConfig = z.output<typeof RepoConfig>;

export type ConfigResult = { ok: true; config: RepoConfig } | { ok: false; problems: string[] };

export function parseRepoConfig(text: string): ConfigResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const where = (offset: number | undefined) =>
    offset === undefined ? "" : ` (line ${lines.linePos(offset).line})`;
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => `YAML: ${e.message.split("\n")[0]}${where(e.pos[0])}`),
    };
  }
  const parsed = RepoConfig.safeParse(doc.toJS() ?? {});
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const path = issue.path.map(String);
      const node = path.length > 0 ? doc.getIn(path, true) : undefined;
      const key = path.length > 0 ? path.join(".") : "top level";
      return `${key}: ${issue.message}${where(isNode(node) ? node.range?.[0] : undefined)}`;
    }),
  };
}
