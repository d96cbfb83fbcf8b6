/**
 * Seeded workloads for the scheduling simulation. Every duration and every infrastructure
 * failure is drawn here, up front, so that qgjob and each baseline face exactly the same work.
 */
import type { Target } from "../../app/scheduler/types.js";
import { seeded, type Random } from "./random.js";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export interface SimJob {
  testPath: string;
  target: Target;
  tags: string[];
  durationMs: number;
  /** failsOnAttempt[n] is true when attempt n + 1 ends in an infrastructure error. */
  failsOnAttempt: boolean[];
}

/** One push: one app version, its tests on one or more targets, submitted at `at`. */
export interface Push {
  index: number;
  at: number;
  orgId: string;
  appVersionId: string;
  repo: string;
  jobs: SimJob[];
}

export interface Workload {
  name: string;
  pushes: Push[];
  fleet: Record<Target, number>;
  installMs: Record<Target, number>;
}

interface Suite {
  orgId: string;
  tests: Omit<SimJob, "durationMs" | "failsOnAttempt">[];
  medianMs: number[];
}

const INSTALL_MS: Record<Target, number> = {
  emulator: 45 * SECOND,
  device: 60 * SECOND,
  browserstack: 90 * SECOND,
};
const TAGS = ["smoke", "login", "checkout", "search"];
const INFRA_FAILURE_RATE = 0.02;
/** Attempts drawn per job: the store gives up after max_attempts (3) infrastructure errors. */
const ATTEMPTS_DRAWN = 3;

/**
 * An org's test files. Each file has its own typical duration (lognormal across files). Files
 * are spread over the device pools in proportion to their size, by expected work, as a team
 * sizes its pools to its suite.
 */
function suite(rng: Random, orgId: string, size: number, fleet: Record<Target, number>): Suite {
  const medianMs = Array.from({ length: size }, () => rng.lognormal(40 * SECOND, 0.8));
  const pools: Target[] = ["emulator", "browserstack"];
  const load = new Map<Target, number>(pools.map((t) => [t, 0]));
  const perDevice = (t: Target) => load.get(t)! / fleet[t];
  const tests = medianMs.map((ms, i) => {
    const target = pools.reduce((a, b) => (perDevice(b) < perDevice(a) ? b : a));
    load.set(target, load.get(target)! + ms);
    return {
      testPath: `tests/${orgId}/${String(i).padStart(3, "0")}.spec.ts`,
      target,
      tags: [TAGS[rng.int(TAGS.length)]!],
    };
  });
  return { orgId, tests, medianMs };
}

/** A push runs `count` tests of the suite; a run's duration varies a little around the file's. */
function push(rng: Random, s: Suite, index: number, at: number, version: number, count: number) {
  const jobs: SimJob[] = s.tests.slice(0, count).map((test, i) => ({
    ...test,
    durationMs: Math.round(s.medianMs[i]! * rng.lognormal(1, 0.1)),
    failsOnAttempt: Array.from({ length: ATTEMPTS_DRAWN }, () => rng.next() < INFRA_FAILURE_RATE),
  }));
  return {
    index,
    at,
    orgId: s.orgId,
    appVersionId: `${s.orgId}-v${version}`,
    repo: `acme/${s.orgId}-app`,
    jobs,
  };
}

function numbered(pushes: Omit<Push, "index">[]): Push[] {
  return pushes.sort((a, b) => a.at - b.at).map((p, index) => ({ ...p, index }));
}

const FLEET: Record<Target, number> = { emulator: 10, device: 0, browserstack: 6 };

/**
 * W1: 3 orgs of unequal size (24, 12 and 4 pushes), 40 app versions, 2,000 jobs as 40 pushes
 * of 50 tests at uniformly random times over 2 hours.
 */
export function w1(seed = 1): Workload {
  const rng = seeded(seed);
  const orgs = [
    { s: suite(rng, "org-a", 50, FLEET), pushes: 24 },
    { s: suite(rng, "org-b", 50, FLEET), pushes: 12 },
    { s: suite(rng, "org-c", 50, FLEET), pushes: 4 },
  ];
  const owners = rng.shuffle(orgs.flatMap((o) => Array<Suite>(o.pushes).fill(o.s)));
  const times = owners.map(() => Math.round(rng.next() * 2 * HOUR)).sort((a, b) => a - b);
  const versions = new Map<string, number>();
  const pushes = owners.map((s, i) => {
    const v = (versions.get(s.orgId) ?? 0) + 1;
    versions.set(s.orgId, v);
    return push(rng, s, i, times[i]!, v, 50);
  });
  return { name: "W1", pushes: numbered(pushes), fleet: FLEET, installMs: INSTALL_MS };
}

/**
 * W2: one org bursts 8 pushes of 100 tests within two minutes, 15 minutes in, while two small
 * orgs each push 25 tests every 10 minutes for 2 hours. Shows whether the small orgs keep
 * their share of the fleet during the burst.
 */
export function w2(seed = 2): Workload {
  const rng = seeded(seed);
  const big = suite(rng, "org-big", 100, FLEET);
  const small = [suite(rng, "org-small1", 25, FLEET), suite(rng, "org-small2", 25, FLEET)];
  const pushes: Omit<Push, "index">[] = [];
  for (let i = 0; i < 8; i++) {
    pushes.push(push(rng, big, 0, 15 * MINUTE + i * 15 * SECOND, i + 1, 100));
  }
  small.forEach((s, k) => {
    for (let i = 0; i < 12; i++) {
      const jitter = rng.int(60 * SECOND);
      pushes.push(push(rng, s, 0, i * 10 * MINUTE + k * 5 * MINUTE + jitter, i + 1, 25));
    }
  });
  return { name: "W2", pushes: numbered(pushes), fleet: FLEET, installMs: INSTALL_MS };
}

/** A few pushes on a 3-device fleet: the smoke run in `npm test`. */
export function tiny(seed = 3): Workload {
  const rng = seeded(seed);
  const fleet: Record<Target, number> = { emulator: 2, device: 0, browserstack: 1 };
  const suites = [suite(rng, "org-a", 8, fleet), suite(rng, "org-b", 8, fleet)];
  const pushes = Array.from({ length: 4 }, (_, i) =>
    push(rng, suites[i % 2]!, 0, i * 2 * MINUTE, Math.floor(i / 2) + 1, 6),
  );
  return { name: "tiny", pushes: numbered(pushes), fleet, installMs: INSTALL_MS };
}

export const workloads: Record<string, (seed?: number) => Workload> = { W1: w1, W2: w2, tiny };
