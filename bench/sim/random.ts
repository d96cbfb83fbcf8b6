/** A seeded random source, so that every workload and every failure draw replays exactly. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Lognormal with the given median and sigma (of the underlying normal). */
  lognormal(median: number, sigma: number): number;
  int(below: number): number;
  shuffle<T>(items: T[]): T[];
}

/** mulberry32: tiny, fast and good enough for simulation draws. */
export function seeded(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => {
    // Box-Muller; 1 - next() keeps the logarithm away from zero.
    const u = 1 - next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
  };
  return {
    next,
    lognormal: (median, sigma) => median * Math.exp(sigma * normal()),
    int: (below) => Math.floor(next() * below),
    shuffle(items) {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
  };
}
