/**
 * A small deterministic PRNG (mulberry32) for tests: a seed gives the same sequence every run,
 * so a failure found by random input reproduces.
 *
 * @module
 */

/**
 * A generator of numbers in [0, 1) from `seed`.
 *
 * @example
 * ```ts
 * const random = rng(7);
 * const coin = random() < 0.5;
 * ```
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
