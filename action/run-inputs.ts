/**
 * What the run carries besides its test paths: working-directory packed as the test bundle (the
 * checked-out commit's tests, so the check reports on the tests that ran) and the app-build file.
 * Both are checked with the other inputs, before anything is sent, and uploaded just before the
 * submission through api/run-inputs.ts, the CLI's own path.
 */
import { existsSync, statSync } from "node:fs";
import { basename, isAbsolute, resolve } from "node:path";
import { ApiError, type QgjobClient } from "../api/client.js";
import { checkedOutCommit, uploadBuild, uploadBundle } from "../api/run-inputs.js";
import type { SubmitRunRequest } from "../api/schemas.js";
import type { GithubContext } from "./context.js";
import { InputError, type SubmissionInputs } from "./inputs.js";
import type { Log } from "./log.js";
import type { TestRoot } from "./tests.js";

export interface RunFiles {
  /** The directory packed as the bundle; undefined with `bundle: false`. */
  bundleDir: string | undefined;
  /** The build file's absolute path; undefined without app-build. */
  buildFile: string | undefined;
}

/** The bundle's folder and the build file, checked to be there. */
export function runFiles(
  inputs: Pick<SubmissionInputs, "bundle" | "appBuild">,
  root: TestRoot,
  workspace: string,
): RunFiles {
  const problems: string[] = [];
  if (inputs.bundle && !(existsSync(root.dir) && statSync(root.dir).isDirectory())) {
    problems.push(
      `working-directory: ${root.prefix || "."} is not a folder in the workspace, and it is ` +
        "packed as the run's test bundle (check out the repository first, e.g. with " +
        "actions/checkout, or set bundle: false)",
    );
  }
  let buildFile: string | undefined;
  if (inputs.appBuild !== undefined) {
    buildFile = isAbsolute(inputs.appBuild) ? inputs.appBuild : resolve(workspace, inputs.appBuild);
    if (!statSync(buildFile, { throwIfNoEntry: false })?.isFile()) {
      problems.push(`app-build: ${inputs.appBuild} is not a file (build it in an earlier step)`);
    }
  }
  if (problems.length > 0) throw new InputError(problems.join("; "));
  return { bundleDir: inputs.bundle ? root.dir : undefined, buildFile };
}

/**
 * Uploads the build and the bundle (nothing is sent for a hash the server holds) and names them
 * in the request. The bundle's source is the commit checked out in working-directory (on pull
 * requests that is GITHUB_SHA, the merge commit, whatever commit the run reports on).
 */
export async function uploadRunFiles(
  client: QgjobClient,
  files: RunFiles,
  request: SubmitRunRequest,
  ctx: Pick<GithubContext, "sha" | "mergeSha">,
  log: Log,
): Promise<void> {
  if (files.buildFile !== undefined) {
    const build = await uploadBuild(client, request.org_id, files.buildFile).catch(
      tooLarge(
        `app-build ${basename(files.buildFile)}`,
        "the server's QGJOB_BLOB_MAX_BYTES sets the limit",
      ),
    );
    request.build = build.ref;
    log.info(
      `qgjob: build ${build.ref.name} (${build.size} bytes, ${build.ref.sha256.slice(0, 12)}) ` +
        sentOrHeld(build.uploaded),
    );
  }
  if (files.bundleDir === undefined) {
    log.info("qgjob: no test bundle (bundle: false): agents run the tests of their own checkout");
    return;
  }
  const source = checkedOutCommit(files.bundleDir) ?? ctx.mergeSha ?? ctx.sha;
  const bundle = await uploadBundle(client, request.org_id, files.bundleDir, source).catch(
    tooLarge(
      "the test bundle of working-directory",
      "set working-directory to the AppWright project, or leave files out with a .qgjobignore",
    ),
  );
  request.bundle = bundle.ref;
  log.info(
    `qgjob: test bundle ${bundle.ref.sha256.slice(0, 12)}${source ? ` of ${source.slice(0, 12)}` : ""}: ` +
      `${bundle.files} files, ${bundle.size} bytes, packed in ${seconds(bundle.packMs)}, ` +
      (bundle.uploaded
        ? `uploaded in ${seconds(bundle.uploadMs)}`
        : "already on the server (nothing sent)"),
  );
}

/** A 413 said about what was sent and what to do; anything else as it was. */
function tooLarge(what: string, remedy: string) {
  return (err: unknown): never => {
    if (err instanceof ApiError && err.status === 413) {
      throw new InputError(`${what}: too large for the server (${err.detail}); ${remedy}`);
    }
    throw err;
  };
}

const sentOrHeld = (uploaded: boolean) =>
  uploaded ? "uploaded" : "already on the server (nothing sent)";
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
