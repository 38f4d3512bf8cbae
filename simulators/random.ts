// Deterministic pseudo-randomness: a simulated station is a pure function of its seed and the clock,
// so a run can be replayed and a test can recompute what a device should have said.

/** A hash of integers to [0, 1). */
export function hash01(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) {
    h ^= Math.imul(((x | 0) ^ (x / 4294967296)) | 0, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return (h >>> 0) / 4294967296;
}

/** Smooth noise in [-1, 1] over time t (seconds) with the given period, from cosine-interpolated lattice points. */
export function smoothNoise(seed: number, t: number, period: number): number {
  const x = t / period;
  const i = Math.floor(x);
  const f = x - i;
  const a = hash01(seed, i) * 2 - 1;
  const b = hash01(seed, i + 1) * 2 - 1;
  const w = (1 - Math.cos(Math.PI * f)) / 2;
  return a * (1 - w) + b * w;
}
