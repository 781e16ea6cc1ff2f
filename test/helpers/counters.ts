/** Reservations and settlements for counter tests, written a counter at a time. */
import type { BudgetCharges } from '../../src/core/ledger.js';
import type { CounterAmount, CounterLimit, Reservation, Settlement } from '../../src/core/ports.js';

/** One counter of a reservation. */
export interface Charge {
  readonly key: string;
  readonly nano: bigint;
  readonly limit: CounterLimit | null;
  readonly tokens: number;
  readonly requests: number;
}

export const money = (nano: bigint): CounterLimit => ({ nano, tokens: null, requests: null });
export const charge = (key: string, nano: bigint, limit: CounterLimit | null, tokens = 0, requests = 1): Charge => ({ key, nano, limit, tokens, requests });
export const amount = (key: string, nano: bigint, tokens = 0, requests = 1): CounterAmount => ({ key, nano, tokens, requests });

/** A reservation of these charges (a call holds the same tokens and requests on each of its counters). */
export function held(...cs: Charge[]): Reservation {
  const [first] = cs;
  if (cs.some((c) => c.tokens !== first!.tokens || c.requests !== first!.requests)) throw new Error('a reservation holds the same tokens and requests on every counter');
  return { keys: cs.map((c) => c.key), nanos: cs.map((c) => c.nano), limits: cs.map((c) => c.limit), tokens: first?.tokens ?? 0, requests: first?.requests ?? 0 };
}

export const paid = (key: string, nano: bigint): { key: string; nano: bigint } => ({ key, nano });

/** A line's charges, a counter at a time. */
export const charges = (...ps: { key: string; nano: bigint }[]): BudgetCharges => ({ keys: ps.map((p) => p.key), nanos: ps.map((p) => p.nano) });

/** Each of a line's charges as a pair. */
export function chargePairs(c: BudgetCharges | null): { key: string; nano: bigint }[] {
  return c ? c.keys.map((key, i) => ({ key, nano: c.nanos[i]! })) : [];
}

export const settled = (lease: string, tokens: number, ...ps: { key: string; nano: bigint }[]): Settlement => ({ lease, charges: charges(...ps), tokens });
