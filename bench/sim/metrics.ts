/** What a schedule achieved, and the bounds and fair shares it is judged against. */
import type { Target } from "../../app/scheduler/types.js";
import { percentile } from "../load.js";
import type { Trace } from "./engine.js";
import type { Push, Workload } from "./workloads.js";

export interface Quality {
  installs: number;
  /** Of those, installs only to retry a job after an infrastructure error on another device. */
  retryInstalls: number;
  makespanMs: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  /** Device time spent installing or testing, over the fleet's time until the makespan. */
  utilisation: number;
  /** Each org's mean run latency over its mean fair-share latency (1 = as if it had its share). */
  orgSlowdown: Record<string, number>;
}

const first = (w: Workload) => Math.min(...w.pushes.map((p) => p.at));

export function quality(workload: Workload, trace: Trace): Quality {
  const latencies = workload.pushes.map((p) => trace.pushEnd[p.index]! - p.at);
  const makespanMs = Math.max(...trace.pushEnd) - first(workload);
  const fair = fairShareLatencies(workload);
  const orgSlowdown: Record<string, number> = {};
  for (const org of new Set(workload.pushes.map((p) => p.orgId))) {
    const mine = workload.pushes.filter((p) => p.orgId === org);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    orgSlowdown[org] =
      sum(mine.map((p) => latencies[p.index]!)) / sum(mine.map((p) => fair[p.index]!));
  }
  return {
    installs: trace.installs,
    retryInstalls: trace.retryInstalls,
    makespanMs,
    p50LatencyMs: percentile(latencies, 50),
    p95LatencyMs: percentile(latencies, 95),
    utilisation: (trace.installMs + trace.testMs) / (trace.agents * makespanMs),
    orgSlowdown,
  };
}

export interface LowerBounds {
  /** One install per distinct (app version, target). */
  installs: number;
  /** All test time spread perfectly over every device. */
  makespanMs: number;
}

export function lowerBounds(workload: Workload): LowerBounds {
  const pairs = new Set(
    workload.pushes.flatMap((p) => p.jobs.map((j) => `${p.appVersionId}|${j.target}`)),
  );
  const work = workload.pushes.flatMap((p) => p.jobs).reduce((s, j) => s + j.durationMs, 0);
  const devices = Object.values(workload.fleet).reduce((a, b) => a + b, 0);
  return { installs: pairs.size, makespanMs: work / devices };
}

const TARGETS: Target[] = ["emulator", "device", "browserstack"];

/**
 * The latency each push would see if its org had a fair share (1 / number of orgs) of every
 * device pool to itself: a fluid queue per pool that serves the org's own pushes in order, one
 * install per push and pool, never faster than the push's longest test after an install.
 */
export function fairShareLatencies(workload: Workload): number[] {
  const orgs = new Set(workload.pushes.map((p) => p.orgId));
  const latency: number[] = [];
  for (const org of orgs) {
    const freeAt = new Map<Target, number>();
    const mine = workload.pushes.filter((p) => p.orgId === org).sort((a, b) => a.at - b.at);
    for (const push of mine) latency[push.index] = fairLatency(workload, push, orgs.size, freeAt);
  }
  return latency;
}

function fairLatency(w: Workload, push: Push, orgs: number, freeAt: Map<Target, number>): number {
  let end = push.at;
  for (const target of TARGETS) {
    const jobs = push.jobs.filter((j) => j.target === target);
    if (jobs.length === 0) continue;
    const share = w.fleet[target] / orgs;
    const work = w.installMs[target] + jobs.reduce((s, j) => s + j.durationMs, 0);
    const start = Math.max(push.at, freeAt.get(target) ?? 0);
    const finish = Math.max(
      start + work / share,
      push.at + w.installMs[target] + Math.max(...jobs.map((j) => j.durationMs)),
    );
    freeAt.set(target, finish);
    end = Math.max(end, finish);
  }
  return end - push.at;
}
