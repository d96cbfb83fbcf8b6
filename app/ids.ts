import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const RANDOM_DIGITS = 16;

let lastTime = -1;
let lastRandom: number[] = [];

/**
 * Time-ordered ids (`job_01JD...`, ULID-like): 10 characters of milliseconds, then 16 random
 * ones. Within one millisecond the random part counts up instead of being drawn again, so ids
 * sort in creation order: a run's jobs list in the order they were submitted, and a cursor is a
 * plain `id < ?`.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  if (now <= lastTime) {
    increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = [...randomBytes(RANDOM_DIGITS)].map((b) => b % 32);
  }
  let time = "";
  let t = lastTime;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${prefix}_${time}${lastRandom.map((d) => ALPHABET[d]).join("")}`;
}

function increment(digits: number[]) {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i]!++;
      return;
    }
    digits[i] = 0;
  }
}
