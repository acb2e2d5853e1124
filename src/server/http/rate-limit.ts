/**
 * Token buckets per key (a client's source address): `burst` requests at once, then `perSecond` on average. A key
 * whose bucket is full again is forgotten, so the table holds only the keys that spent something lately.
 */

/** A rate: `perSecond` on average, `burst` at once. */
export interface Rate {
  readonly perSecond: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Past this many keys, full buckets are swept out before a new key is added. */
const SWEEP_AT_KEYS = 1024;

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rate: Rate;
  readonly #now: () => number;

  constructor(
    rate: Rate,
    now: () => number = () => performance.now(),
  ) {
    this.#rate = rate;
    this.#now = now;
  }

  /** Spends one token of `key`'s bucket: 0 when there was one, else the seconds until there is. */
  take(key: string): number {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? this.#add(key, now);
    bucket.tokens = Math.min(this.#rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return (1 - bucket.tokens) / this.#rate.perSecond;
    bucket.tokens -= 1;
    return 0;
  }

  #add(key: string, now: number): Bucket {
    if (this.#buckets.size >= SWEEP_AT_KEYS) {
      for (const [k, b] of this.#buckets) if (b.tokens + ((now - b.at) / 1000) * this.#rate.perSecond >= this.#rate.burst) this.#buckets.delete(k);
    }
    const bucket = { tokens: this.#rate.burst, at: now };
    this.#buckets.set(key, bucket);
    return bucket;
  }
}
