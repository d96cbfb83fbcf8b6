import { EventEmitter } from "node:events";
import type { ChangeFeed } from "./store.js";

/** Topics whose last publish is remembered; an older one is forgotten (its waits time out). */
const REMEMBERED = 10_000;

/**
 * Work for some agents: `count` jobs of one target, org and device (null: any device). Published
 * as the topic `workTopic(...)`; it wakes at most `count` of the polls that could take them
 * (`workWait`), and every plain "work" wait. The plain "work" topic wakes every poll.
 */
export interface WorkOffer {
  target: string;
  orgId: string;
  device: string | null;
  count: number;
}

/** Who waits for work: an agent's target, org (null: the fleet's) and device. */
export type WorkWaiter = Pick<WorkOffer, "target" | "device"> & { orgId: string | null };

const OFFER = "work\toffer\t";
const WAITER = "work\twait\t";

/** The topics that announce these jobs: one per target, org and device, with its count. */
export function workTopics(jobs: readonly Omit<WorkOffer, "count">[]): string[] {
  const counts = new Map<string, number>();
  for (const job of jobs) {
    const key = JSON.stringify([job.target, job.orgId, job.device]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${OFFER}${key}\t${count}`);
}

/**
 * Topics gathered from several transactions, each once; offers of the same jobs' kind add up
 * (two one-job submissions are two jobs to wake for, not one).
 */
export function gatherTopics(topics: Iterable<string>): string[] {
  const offers = new Map<string, number>();
  const others = new Set<string>();
  for (const topic of topics) {
    if (!topic.startsWith(OFFER)) {
      others.add(topic);
      continue;
    }
    const tab = topic.lastIndexOf("\t");
    const kind = topic.slice(0, tab);
    offers.set(kind, (offers.get(kind) ?? 0) + Number(topic.slice(tab + 1)));
  }
  return [...others, ...[...offers].map(([kind, count]) => `${kind}\t${count}`)];
}

/** The topic a poll for `waiter` waits on. */
export const workWait = (waiter: WorkWaiter) =>
  `${WAITER}${JSON.stringify([waiter.target, waiter.orgId, waiter.device])}`;

function parseOffer(topic: string): WorkOffer {
  const tab = topic.lastIndexOf("\t");
  const [target, orgId, device] = JSON.parse(topic.slice(OFFER.length, tab)) as [
    string,
    string,
    string | null,
  ];
  return { target, orgId, device, count: Number(topic.slice(tab + 1)) };
}

const takes = (waiter: WorkWaiter, offer: WorkOffer) =>
  (waiter.orgId === null || waiter.orgId === offer.orgId) &&
  (offer.device === null || offer.device === waiter.device);

interface Parked {
  waiter: WorkWaiter;
  wake: () => void;
}

/** Wake-ups within one process: enough for the embedded engine, where one server owns the file. */
export class LocalChangeFeed implements ChangeFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private seq = 0;
  /** Each topic's last publish, oldest first: a wait that starts late still sees it. */
  private readonly last = new Map<string, number>();
  /** Polls waiting for work, by target, longest waiting first. */
  private readonly parked = new Map<string, Set<Parked>>();

  publish(topic: string): void {
    if (topic.startsWith(OFFER)) return this.offer(parseOffer(topic));
    this.remember(topic);
    this.emitter.emit(topic);
    if (topic !== "work") return;
    this.remember(`${WAITER}*`);
    for (const polls of this.parked.values()) this.wake(polls);
  }

  private remember(topic: string) {
    this.last.delete(topic);
    this.last.set(topic, ++this.seq);
    if (this.last.size > REMEMBERED) this.last.delete(this.last.keys().next().value!);
  }

  /** Wakes every plain "work" wait and at most `count` polls that could take the jobs. */
  private offer(offer: WorkOffer) {
    this.remember(`${WAITER}${offer.target}`);
    this.remember("work");
    this.emitter.emit("work");
    const polls = this.parked.get(offer.target);
    if (polls) this.wake(polls, (p) => takes(p.waiter, offer), offer.count);
  }

  /**
   * Unparks at once (a later offer counts only polls still waiting) but answers on the next turn
   * of the event loop: on SQLite the woken poll's claim runs on this thread, and the request that
   * published (a submission) should have its reply written before that claim, not after.
   */
  private wake(polls: Set<Parked>, fits = (_: Parked) => true, count = Infinity) {
    for (const poll of polls) {
      if (count <= 0) break;
      if (!fits(poll)) continue;
      count--;
      polls.delete(poll);
      setImmediate(poll.wake);
    }
  }

  mark(): number {
    return this.seq;
  }

  firedSince(topic: string, since: number): boolean {
    return (this.last.get(topic) ?? 0) > since;
  }

  wait(topic: string, timeoutMs: number, signal?: AbortSignal, since?: number): Promise<boolean> {
    if (signal?.aborted || timeoutMs <= 0) return Promise.resolve(false);
    const waiter = topic.startsWith(WAITER)
      ? (JSON.parse(topic.slice(WAITER.length)) as [string, string | null, string | null])
      : null;
    // Published while the caller was reading: it may have read before the change. A poll looks
    // again after work for its target (or for everyone) whoever it was for.
    const fired = waiter
      ? (s: number) =>
          this.firedSince(`${WAITER}${waiter[0]}`, s) || this.firedSince(`${WAITER}*`, s)
      : (s: number) => this.firedSince(topic, s);
    if (since !== undefined && fired(since)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (fired: boolean) => {
        clearTimeout(timer);
        if (parked) this.parked.get(parked.waiter.target)?.delete(parked);
        else this.emitter.off(topic, onFire);
        signal?.removeEventListener("abort", onAbort);
        resolve(fired);
      };
      const onFire = () => finish(true);
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      const parked: Parked | null = waiter
        ? { waiter: { target: waiter[0], orgId: waiter[1], device: waiter[2] }, wake: onFire }
        : null;
      if (parked) {
        const polls = this.parked.get(parked.waiter.target) ?? new Set();
        this.parked.set(parked.waiter.target, polls.add(parked));
      } else this.emitter.once(topic, onFire);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
