/**
 * Injected randomness. The core never calls `Math.random`; it draws from a
 * {@link Random} handed to it, so one seed reproduces a whole run.
 */
export interface Random {
  /** A uniformly distributed integer in [0, maxExclusive). `maxExclusive` is a positive safe integer ≤ 2^32. */
  nextInt(maxExclusive: number): number;
}

/**
 * A small, fast, seeded generator (sfc32, seeded through splitmix32).
 * Deterministic across platforms: only 32-bit integer arithmetic.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** A generator whose whole sequence is determined by `seed`. */
  constructor(seed: number) {
    let state = seed >>> 0;
    const next = (): number => {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  nextInt(maxExclusive: number): number {
    if (!Number.isInteger(maxExclusive) || maxExclusive <= 0 || maxExclusive > 0x1_0000_0000) {
      throw new RangeError(`nextInt: maxExclusive must be an integer in [1, 2^32], got ${maxExclusive}`);
    }
    // Rejection sampling keeps the distribution uniform.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % maxExclusive);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % maxExclusive;
    }
  }

  /** A float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A new generator whose stream is independent of this one's later draws (for per-component streams). */
  split(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}
