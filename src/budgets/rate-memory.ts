/**
 * Rate limits in process memory: each key keeps sixty one-second buckets of requests and
 * tokens, so "the last minute" slides second by second.
 */
import type { RateCheck, RateLimits, RateResult } from '../core/ports.js';

const SECONDS = 60;

class Buckets {
  readonly requests = new Float64Array(SECONDS);
  readonly tokens = new Float64Array(SECONDS);
  /** The second (epoch) the newest bucket stands for. */
  second = 0;

  /** Moves the window to `now`, clearing the seconds that went by. */
  advance(now: number): void {
    const s = Math.floor(now / 1000);
    const gap = Math.min(s - this.second, SECONDS);
    for (let i = 1; i <= gap; i++) {
      const j = (this.second + i) % SECONDS;
      this.requests[j] = 0;
      this.tokens[j] = 0;
    }
    if (s > this.second) this.second = s;
  }

  total(a: Float64Array): number {
    let n = 0;
    for (let i = 0; i < SECONDS; i++) n += a[i]!;
    return n;
  }

  /** Milliseconds until enough of the oldest seconds drop out to get under `limit`. */
  waitFor(a: Float64Array, limit: number, now: number): number {
    let excess = this.total(a) - limit + 1;
    for (let age = SECONDS - 1; age >= 0; age--) {
      excess -= a[(this.second - age + SECONDS * 2) % SECONDS]!;
      if (excess <= 0) return (SECONDS - age) * 1000 - (now % 1000);
    }
    return SECONDS * 1000;
  }
}

export class MemoryRateLimits implements RateLimits {
  private readonly keys = new Map<string, Buckets>();

  private buckets(key: string, now: number): Buckets {
    let b = this.keys.get(key);
    if (!b) {
      b = new Buckets();
      b.second = Math.floor(now / 1000);
      this.keys.set(key, b);
    }
    b.advance(now);
    return b;
  }

  async hit(checks: readonly RateCheck[], now: number): Promise<RateResult> {
    for (const c of checks) {
      const b = this.buckets(c.key, now);
      if (c.rpm !== null && b.total(b.requests) >= c.rpm) return { ok: false, key: c.key, what: 'requests', retryAfterMs: b.waitFor(b.requests, c.rpm, now) };
      if (c.tpm !== null && b.total(b.tokens) >= c.tpm) return { ok: false, key: c.key, what: 'tokens', retryAfterMs: b.waitFor(b.tokens, c.tpm, now) };
    }
    for (const c of checks) {
      const b = this.buckets(c.key, now);
      b.requests[b.second % SECONDS]! += 1;
    }
    return { ok: true };
  }

  async addTokens(keys: readonly string[], tokens: number, now: number): Promise<void> {
    for (const k of keys) {
      const b = this.buckets(k, now);
      b.tokens[b.second % SECONDS]! += tokens;
    }
  }
}
