/**
 * What a failed GitHub call means for when to try again, as GitHub documents it:
 * - primary rate limit: 403 or 429 with `x-ratelimit-remaining: 0`: not before `x-ratelimit-reset`
 *   (epoch seconds);
 * - secondary rate limit: 403 or 429 saying so: not before `retry-after` seconds, else the reset
 *   time when remaining is 0, else at least a minute;
 * - 5xx, a timeout or a lost connection: GitHub may have done the work; try again later;
 * - any other 4xx: GitHub refuses this request as it is; a few more tries, then give up.
 */

export type GithubFailure =
  | { kind: "limited"; until: number; reason: string }
  | { kind: "transient"; reason: string }
  | { kind: "refused"; status: number; reason: string };

/** With neither retry-after nor a reset time, GitHub asks for at least a minute. */
export const SECONDARY_LIMIT_WAIT_MS = 60_000;

interface RequestErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

const header = (err: RequestErrorLike, name: string) => {
  const value = err.response?.headers?.[name];
  return value === undefined ? undefined : String(value);
};

/** GitHub's message for the error, without Octokit's " - https://docs.github.com/..." suffix. */
function messageOf(err: RequestErrorLike): string {
  const data = err.response?.data as { message?: unknown } | undefined;
  const text = typeof data?.message === "string" ? data.message : (err.message ?? String(err));
  return text.split("\n")[0]!.slice(0, 300);
}

export function classifyGithubFailure(error: unknown, now: number): GithubFailure {
  const err = (error ?? {}) as RequestErrorLike;
  const status = err.status;
  const message = messageOf(err);
  if (status === 403 || status === 429) {
    const retryAfter = Number(header(err, "retry-after"));
    const remaining = header(err, "x-ratelimit-remaining");
    const reset = Number(header(err, "x-ratelimit-reset"));
    const secondary = /secondary rate limit|abuse/i.test(message);
    if (Number.isFinite(retryAfter) && retryAfter >= 0 && header(err, "retry-after") !== undefined)
      return { kind: "limited", until: now + retryAfter * 1000, reason: `${status}: ${message}` };
    if (remaining === "0" && Number.isFinite(reset))
      return {
        kind: "limited",
        until: Math.max(now, reset * 1000),
        reason: `${status}: ${message}`,
      };
    if (secondary || status === 429)
      return {
        kind: "limited",
        until: now + SECONDARY_LIMIT_WAIT_MS,
        reason: `${status}: ${message}`,
      };
  }
  if (status === undefined || status >= 500 || status === 401 || status === 408)
    return { kind: "transient", reason: status ? `${status}: ${message}` : message };
  return { kind: "refused", status, reason: `${status}: ${message}` };
}
