import type { SchedulerConfig } from "./types.js";

/**
 * Device time an org used `elapsedMs` ago, weighted down so that fair share looks at recent
 * usage: an org that was busy an hour ago should not be penalised now.
 */
export function decayUsage(usageMs: number, elapsedMs: number, halfLifeMs: number): number {
  if (elapsedMs <= 0) return usageMs;
  return usageMs * 0.5 ** (elapsedMs / halfLifeMs);
}

/** Smoothed run time of a test file: one slow run moves the estimate by `alpha` only. */
export function ewma(previousMs: number | null, sampleMs: number, alpha: number): number {
  if (previousMs === null) return sampleMs;
  return previousMs + alpha * (sampleMs - previousMs);
}

/** A test never run before is assumed to take the configured default. */
export function expectedDuration(
  ewmaMs: number | null,
  config: Pick<SchedulerConfig, "defaultTestMs">,
): number {
  return ewmaMs ?? config.defaultTestMs;
}
