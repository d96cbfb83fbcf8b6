/**
 * Resolves an app version to a build the runner can install, once per lease. A template maps
 * the version to a local path (`./builds/{app_version_id}.apk`) or a URL, which is downloaded
 * into a cache once per version and reused by later leases.
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream } from "node:stream/web";

import { resolveBuildTemplate } from "./build-template.js";

export class BuildError extends Error {}

export interface BuildResolverOptions {
  /** `{app_version_id}` is replaced; null means the runner needs no build path. */
  template: string | null;
  cacheDir: string;
}

export class BuildResolver {
  /** How many builds this agent prepared (resolved or downloaded), for logs and metrics. */
  prepared = 0;

  constructor(private readonly opts: BuildResolverOptions) {}

  async prepare(appVersionId: string, signal?: AbortSignal): Promise<string | null> {
    if (this.opts.template === null) return null;
    this.prepared++;
    let where: string;
    try {
      where = resolveBuildTemplate(this.opts.template, appVersionId);
    } catch (err) {
      throw new BuildError((err as Error).message);
    }
    if (!/^https?:\/\//.test(where)) {
      const path = resolve(where);
      if (!existsSync(path)) throw new BuildError(`build for ${appVersionId} not found at ${path}`);
      return path;
    }
    const dir = join(this.opts.cacheDir, cacheKey(appVersionId, where));
    const file = join(dir, basename(new URL(where).pathname) || "build");
    if (existsSync(file)) return file;
    mkdirSync(dir, { recursive: true });
    const res = await fetch(where, { signal: signal ?? AbortSignal.timeout(10 * 60_000) }).catch(
      (err: Error) => {
        throw new BuildError(
          `cannot download the build for ${appVersionId} from ${where}: ${err.message}`,
        );
      },
    );
    if (!res.ok || !res.body) {
      throw new BuildError(
        `cannot download the build for ${appVersionId}: ${where} answered ${res.status}`,
      );
    }
    // Download beside the final name, then rename: a half-written file is never taken for a build.
    const partial = `${file}.part`;
    try {
      await pipeline(Readable.fromWeb(res.body as ReadableStream), createWriteStream(partial));
    } catch (err) {
      rmSync(partial, { force: true });
      throw new BuildError(
        `download of the build for ${appVersionId} broke off: ${(err as Error).message}`,
      );
    }
    renameSync(partial, file);
    return file;
  }
}

/**
 * The cache folder of one build: a readable prefix, then a hash of the exact version id and URL.
 * The prefix alone would fold `1.0+1`, `1.0:1` and `1.0@1` into one folder (and one build).
 */
export function cacheKey(appVersionId: string, url: string): string {
  const hash = createHash("sha256").update(`${appVersionId}\n${url}`).digest("hex").slice(0, 32);
  return `${appVersionId.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40)}-${hash}`;
}
