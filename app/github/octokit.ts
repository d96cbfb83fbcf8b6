/**
 * The Octokit every GitHub call goes through. Probot's throttling and retry plugins are off: they
 * wait inside the request (one rate-limited installation held up everybody's work behind it) and
 * repeat POSTs that GitHub may have carried out (a create answered 502 became two check runs).
 * Waiting and retrying is done per installation by the callers instead (reporter.ts,
 * deliveries.ts), from what `failures.ts` makes of the answer. Each request carries GitHub's API
 * version and gives up after `timeoutMs`.
 */
import { ProbotOctokit } from "probot";
import type { Octokit } from "./repo-reader.js";

/** The REST API version qgjob is written against. */
export const GITHUB_API_VERSION = "2022-11-28";

type Options = Record<string, unknown> & { throttle?: object };

export function qgjobOctokit(timeoutMs: number) {
  const requests = (octokit: Pick<Octokit, "hook">) => {
    octokit.hook.before("request", (options) => {
      options.headers["x-github-api-version"] = GITHUB_API_VERSION;
      options.request = {
        ...options.request,
        signal: options.request?.signal ?? AbortSignal.timeout(timeoutMs),
      };
    });
  };
  return ProbotOctokit.plugin(requests).defaults((options: Options) => ({
    ...options,
    throttle: { ...options.throttle, enabled: false },
    retry: { enabled: false },
  }));
}
