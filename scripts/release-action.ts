/**
 * `npm run release:action -- <action repo> [--version 1.2.0] [--from <checkout>]`: cuts a release of the Action for
 * its own repository (qualgent/qgjob-action), which users reference as `qualgent/qgjob-action@v1`.
 *
 * 1. The action repository's tree is assembled from this one: action.yml, the committed bundle
 *    (dist/action, which `npm run bundle:check` keeps equal to a fresh build), a README generated
 *    from action.yml, and LICENSE. Nothing else: no sources, no node_modules.
 * 2. Compatibility with the major tag it moves is checked against the release that tag points at:
 *    no input or output removed, no input newly required, no older runtime. A break needs a new
 *    major version (`--version 2.0.0`), which starts a new tag (`v2`) and leaves `v1` where it is.
 * 3. It commits, tags `v<version>` and moves `v<major>` to the new commit. Nothing is pushed: the
 *    person cutting the release reviews the commit, then pushes the branch and both tags
 *    (`git push origin HEAD v1.2.0 && git push --force origin v1`).
 *
 * The target is created as a git repository if it does not exist.
 */
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { renderTables } from "./docs/action-tables.js";

export interface ActionSpec {
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description?: string }>;
  runs: { using: string; main: string; post?: string };
  name: string;
  description: string;
}

export const readSpec = (text: string) => parse(text) as ActionSpec;

/** What a user of the major tag would notice going from `before` to `after`; empty: compatible. */
export function compatibilityProblems(before: ActionSpec, after: ActionSpec): string[] {
  const problems: string[] = [];
  for (const [name, input] of Object.entries(before.inputs ?? {})) {
    const now = after.inputs?.[name];
    if (!now) problems.push(`input ${name} was removed`);
    else if (now.required && !input.required) problems.push(`input ${name} is now required`);
  }
  for (const [name, input] of Object.entries(after.inputs ?? {})) {
    if (!before.inputs?.[name] && input.required) problems.push(`new input ${name} is required`);
  }
  for (const name of Object.keys(before.outputs ?? {})) {
    if (!after.outputs?.[name]) problems.push(`output ${name} was removed`);
  }
  const node = (using: string) => Number(/^node(\d+)$/.exec(using)?.[1] ?? NaN);
  if (!(node(after.runs.using) >= node(before.runs.using))) {
    problems.push(`runs.using went from ${before.runs.using} to ${after.runs.using}`);
  }
  return problems;
}

/** The action repository's README: how to use it, and the input and output tables of docs/action.md. */
export function readme(
  spec: ActionSpec,
  specText: string,
  version: string,
  source: string,
): string {
  const major = version.split(".")[0];
  return `# ${spec.name}

${spec.description.trim()}

Release ${version}, built from ${source}. Its source, tests, documentation (docs/action.md)
and issues live in the qgjob repository; this repository only holds what the runner needs.

\`\`\`yaml
- uses: actions/checkout@v6
- uses: qualgent/qgjob-action@v${major}
  with:
    server-url: \${{ secrets.QGJOB_URL }}
    api-token: \${{ secrets.QGJOB_TOKEN }}
    org-id: your-org
    tests: tests/*.spec.ts
\`\`\`

Runs on \`${spec.runs.using}\`: GitHub-hosted runners have it; self-hosted runners need runner
v2.327.1 or later. \`@v${major}\` moves with every ${major}.x release and never drops or newly
requires an input, or drops an output; a change that would is a new major version.

${renderTables(specText)}
`;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

function tagExists(repo: string, tag: string): boolean {
  try {
    git(repo, "rev-parse", "--verify", "--quiet", `refs/tags/${tag}`);
    return true;
  } catch {
    return false;
  }
}

export interface ReleaseOptions {
  /** This repository's root (action.yml, dist/action, LICENSE). */
  from: string;
  /** The action repository (created when missing). */
  to: string;
  /** Semver without the `v`; default: package.json's version. */
  version?: string;
}

export interface Release {
  commit: string;
  tag: string;
  major: string;
}

export function releaseAction(opts: ReleaseOptions): Release {
  const from = resolve(opts.from);
  const to = resolve(opts.to);
  const version =
    opts.version ??
    (JSON.parse(readFileSync(join(from, "package.json"), "utf8")) as { version: string }).version;
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(`version: expected 1.2.3, got '${version}'`);
  const tag = `v${version}`;
  const major = `v${version.split(".")[0]}`;
  const bundle = join(from, "dist/action/index.js");
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run bundle first`);
  const specText = readFileSync(join(from, "action.yml"), "utf8");
  const spec = readSpec(specText);

  if (!existsSync(join(to, ".git"))) {
    mkdirSync(to, { recursive: true });
    git(to, "init", "--quiet", "--initial-branch=main");
  }
  if (tagExists(to, tag)) throw new Error(`${tag} is already released in ${to}`);
  if (tagExists(to, major)) {
    const before = readSpec(git(to, "show", `${major}:action.yml`));
    const problems = compatibilityProblems(before, spec);
    if (problems.length > 0) {
      throw new Error(
        `${tag} would break ${major} users: ${problems.join("; ")}. ` +
          `Release it as a new major version instead.`,
      );
    }
  }

  for (const entry of readdirSync(to))
    if (entry !== ".git") rmSync(join(to, entry), { recursive: true });
  writeFileSync(join(to, "action.yml"), specText);
  cpSync(join(from, "dist/action"), join(to, "dist/action"), { recursive: true });
  cpSync(join(from, "LICENSE"), join(to, "LICENSE"));
  let source = "qgjob";
  try {
    source = `qgjob ${git(from, "rev-parse", "--short=12", "HEAD")}`;
  } catch {
    // Not a git checkout (an unpacked tarball): the version says enough.
  }
  writeFileSync(join(to, "README.md"), readme(spec, specText, version, source));

  git(to, "add", "--all");
  const ident = ["-c", "user.name=qgjob release", "-c", "user.email=release@qgjob.invalid"];
  git(to, ...ident, "commit", "--quiet", "--allow-empty", "-m", `qgjob-action ${tag} (${source})`);
  git(to, ...ident, "tag", "-a", tag, "-m", `qgjob-action ${tag}`);
  git(to, "tag", "-f", major, tag + "^{commit}");
  return { commit: git(to, "rev-parse", "HEAD"), tag, major };
}

/** `--name value` taken out of `args`. */
function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  return args.splice(at, 2)[1];
}

function main(argv: string[]): void {
  const args = [...argv];
  const version = option(args, "--version")?.replace(/^v/, "");
  const from = option(args, "--from") ?? resolve(import.meta.dirname, "..");
  const to = args[0];
  if (!to || args.length > 1) {
    process.stderr.write(
      "usage: npm run release:action -- <action repository dir> [--version 1.2.3] [--from <qgjob checkout>]\n",
    );
    process.exit(2);
  }
  try {
    const r = releaseAction({ from, to, version });
    process.stdout.write(
      `released ${r.tag} in ${resolve(to)} (${r.commit.slice(0, 12)}); ${r.major} moved to it.\n` +
        `Push: git -C ${to} push origin HEAD ${r.tag} && git -C ${to} push --force origin ${r.major}\n`,
    );
  } catch (err) {
    process.stderr.write(`release:action: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv.slice(2));
}
