/**
 * A discrete-event simulation of a device fleet on a virtual clock: pushes arrive, idle agents
 * ask a dispatcher for work, install when told to, run each job for its drawn duration and
 * report it. Nothing sleeps, so two simulated hours take seconds. The dispatcher is qgjob's
 * real store and scheduler, or one of the baselines.
 */
import type { Target } from "../../app/scheduler/types.js";
import { seeded } from "./random.js";
import type { Push, SimJob, Workload } from "./workloads.js";

/** Simulated time zero, as an epoch instant (the store keeps epoch milliseconds). */
export const T0 = Date.UTC(2026, 0, 1);

export interface SimAgent {
  index: number;
  id: string;
  target: Target;
}

/** One job of a batch, as the dispatcher handed it out. */
export interface JobRef {
  id: string;
  attempt: number;
  push: Push;
  job: SimJob;
}

export interface Batch {
  install: boolean;
  jobs: JobRef[];
}

export interface Dispatcher {
  addAgent(target: Target, name: string, now: number): Promise<string>;
  submit(push: Push, now: number): Promise<void>;
  claim(agent: SimAgent, now: number): Promise<Batch | null>;
  start(ref: JobRef, now: number): Promise<void>;
  /** Reports one attempt; `ended` is false when the job went back to the queue. */
  finish(
    ref: JobRef,
    failed: boolean,
    durationMs: number,
    now: number,
  ): Promise<{ ended: boolean }>;
  close(): Promise<void>;
}

/** What happened, in simulated milliseconds from T0. */
export interface Trace {
  installs: number;
  /** Installs for batches of retried jobs only: infrastructure errors retry on another device. */
  retryInstalls: number;
  installMs: number;
  testMs: number;
  /** When each push's last job ended, by push index. */
  pushEnd: number[];
  agents: number;
}

type Scheduled =
  | { at: number; kind: "push"; push: Push }
  | { at: number; kind: "step"; agent: number }
  /** `poll` tells a current ask from one overtaken by a later ask. */
  | { at: number; kind: "claim"; agent: number; poll: number };
type Event = Scheduled & { seq: number };

/** A binary heap on (at, seq): equal times run in the order they were scheduled. */
class EventQueue {
  private heap: Event[] = [];
  private seq = 0;
  get size() {
    return this.heap.length;
  }
  push(event: Scheduled) {
    const e = { ...event, seq: this.seq++ };
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): Event {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * An idle agent's long poll returns empty after this long and it asks again: how a job that
 * avoided an agent for a while (after an infrastructure error) still reaches it.
 */
const POLL_MS = 30_000;

const before = (a: Event, b: Event) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** An infrastructure failure is noticed halfway through the test, on average. */
const FAILED_FRACTION = 0.5;

function attemptOf(ref: JobRef): { failed: boolean; ms: number } {
  const failed = ref.job.failsOnAttempt[ref.attempt - 1] ?? false;
  return {
    failed,
    ms: failed ? Math.round(ref.job.durationMs * FAILED_FRACTION) : ref.job.durationMs,
  };
}

export async function simulate(workload: Workload, dispatcher: Dispatcher): Promise<Trace> {
  const rng = seeded(7);
  const agents: (SimAgent & { batch: JobRef[]; running: JobRef | null; poll: number })[] = [];
  for (const target of ["emulator", "device", "browserstack"] as const) {
    for (let i = 0; i < workload.fleet[target]; i++) {
      const name = `${target}-${i}`;
      const id = await dispatcher.addAgent(target, name, T0);
      agents.push({ index: agents.length, id, target, batch: [], running: null, poll: 0 });
    }
  }
  const trace: Trace = {
    installs: 0,
    retryInstalls: 0,
    installMs: 0,
    testMs: 0,
    pushEnd: workload.pushes.map(() => NaN),
    agents: agents.length,
  };
  const open = workload.pushes.map((p) => p.jobs.length);
  let arrivedOpen = 0;
  const events = new EventQueue();
  for (const push of workload.pushes) events.push({ at: push.at, kind: "push", push });
  let idle = new Set(agents.map((a) => a.index));

  // Asking anew overtakes an agent's pending poll: only the latest ask is acted on.
  const ask = (index: number, at: number) =>
    events.push({ at, kind: "claim", agent: index, poll: ++agents[index]!.poll });
  // Long-polling agents all hear about new work at once and race for it, in no fixed order.
  const wakeIdle = (at: number) => {
    for (const index of rng.shuffle([...idle])) ask(index, at);
    idle = new Set();
  };

  while (events.size > 0) {
    const event = events.pop();
    const now = T0 + event.at;
    if (event.kind === "push") {
      await dispatcher.submit(event.push, now);
      arrivedOpen++;
      wakeIdle(event.at);
      continue;
    }
    const agent = agents[event.agent]!;
    if (event.kind === "claim") {
      if (event.poll !== agent.poll) continue;
      const batch = await dispatcher.claim(agent, now);
      if (!batch) {
        idle.add(agent.index);
        if (arrivedOpen > 0) ask(agent.index, event.at + POLL_MS);
        continue;
      }
      idle.delete(agent.index);
      agent.batch = batch.jobs;
      const installMs = batch.install ? workload.installMs[agent.target] : 0;
      if (batch.install) {
        trace.installs++;
        if (batch.jobs.every((j) => j.attempt > 1)) trace.retryInstalls++;
        trace.installMs += installMs;
      }
      events.push({ at: event.at + installMs, kind: "step", agent: agent.index });
      continue;
    }
    const done = agent.running;
    if (done) {
      agent.running = null;
      const { failed, ms } = attemptOf(done);
      const { ended } = await dispatcher.finish(done, failed, ms, now);
      if (ended && --open[done.push.index]! === 0) {
        trace.pushEnd[done.push.index] = event.at;
        arrivedOpen--;
      }
      if (!ended) wakeIdle(event.at);
    }
    const next = agent.batch.shift();
    if (next) {
      await dispatcher.start(next, now);
      agent.running = next;
      const { ms } = attemptOf(next);
      trace.testMs += ms;
      events.push({ at: event.at + ms, kind: "step", agent: agent.index });
    } else {
      ask(agent.index, event.at);
    }
  }
  await dispatcher.close();
  const unfinished = open.filter((n) => n > 0).length;
  if (unfinished > 0) throw new Error(`${unfinished} pushes never finished`);
  return trace;
}
