/**
 * Synthetic series with planted anomalies, one generator for every kind and interval, to measure
 * the detector (anomaly-synthetic.test.ts and bench/anomalies.mjs). Each bucket is simulated as
 * the ledger would sum it (calls, cost, tokens, failures, agent runs, accepted outcomes) and read
 * through the kind's own value, so what is measured is what the report runs. Seeded: the figures
 * are the same every run.
 */
import { seeded } from '../core/random.js';
import { detect, type DetectOptions } from './anomaly.js';
import { detectOptions, emptyBucket, KINDS, type AnomalyKind, type Bucket, type Interval } from './anomaly-kinds.js';

/** A seeded generator (mulberry32) with normal, Poisson and binomial draws. */
function generator(seed: number) {
  const rand = seeded(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const poisson = (mean: number): number => {
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal()));
    let k = 0;
    for (let p = rand(), l = Math.exp(-mean); p > l; p *= rand()) k++;
    return k;
  };
  const binomial = (n: number, p: number): number => (n > 50 ? Math.min(n, Math.max(0, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * normal()))) : Array.from({ length: n }, rand).filter((u) => u < p).length);
  const between = (lo: number, hi: number) => lo + rand() * (hi - lo);
  return { rand, normal, poisson, binomial, between };
}

/** The weekly shape of activity: weekdays busy, weekends at 60% (days); working hours busy, nights and weekends quiet (hours). */
function shape(interval: Interval, t: number): { load: number; working: boolean } {
  if (interval === 'day') return { load: t % 7 >= 5 ? 0.6 : 1 + 0.05 * Math.sin(t % 7), working: t % 7 < 5 };
  const hour = t % 24;
  const weekend = Math.floor(t / 24) % 7 >= 5;
  const working = !weekend && hour >= 8 && hour < 19;
  return { load: working ? 1 + 0.2 * Math.sin(((hour - 8) / 11) * Math.PI) : weekend && hour >= 9 && hour < 18 ? 0.15 : 0.05, working };
}

export interface PlantedSeries {
  readonly values: (number | null)[];
  readonly planted: Set<number>;
}

/**
 * One member's series of a kind: a level, the weekly (or daily) shape, a slow trend and noise;
 * anomalies planted on 3% of the buckets after the detector's warm-up, each the kind's own
 * trouble: a spike of 4-8 noise deviations of spend, runaway output (1.5-3x the ratio), an outage
 * (10-40% of calls failing), a drift to premium models (+15-35 points of share for three buckets),
 * a weekend or night batch (half to twice a working bucket's spend), a looping run (4-15x the
 * usual longest run), and a workflow whose outputs stop being accepted.
 */
export function plantedSeries(kind: AnomalyKind, interval: Interval, seed: number): PlantedSeries {
  const g = generator(seed);
  const o = detectOptions(kind, interval);
  const warmup = o.season * (o.seasons ?? 6) + o.season;
  const points = warmup + (interval === 'day' ? 85 : 14 * 24);
  const calls = interval === 'day' ? g.between(200, 2000) : g.between(20, 200);
  const perCall = g.between(0.005, 0.05);
  const ratio = g.between(0.2, 1.2);
  const failRate = g.between(0.005, 0.03);
  const premium = g.between(0.1, 0.5);
  const runLength = g.between(3, 10);
  const acceptance = g.between(0.3, 0.8);
  const values: (number | null)[] = [];
  const planted = new Set<number>();
  let drift = 0;
  for (let t = 0; t < points; t++) {
    const { load, working } = shape(interval, t);
    const b: Bucket = { ...emptyBucket(), working };
    const expected = calls * load * (1 + t * 0.0005);
    b.requests = g.poisson(expected);
    b.cost = Math.max(0, expected * perCall * (1 + 0.08 * g.normal()));
    b.tokensIn = b.requests * 800;
    b.tokensOut = b.tokensIn * ratio * (1 + 0.06 * g.normal());
    b.failed = g.binomial(b.requests, failRate);
    b.premium = b.cost * Math.min(1, Math.max(0, premium + 0.03 * g.normal()));
    b.offCost = interval === 'day' ? calls * perCall * (working ? 0.05 : 0.1) * (1 + 0.15 * g.normal()) : working ? 0 : b.cost * (1 + 0.3 * g.normal());
    b.runs = g.poisson(Math.max(0.5, expected / 10));
    for (let r = 0; r < b.runs; r++) b.maxRunCalls = Math.max(b.maxRunCalls, 1 + g.poisson(runLength));
    b.accepted = g.binomial(b.requests, acceptance);
    const plant = t >= warmup && (drift > 0 || g.rand() < 0.03) && KINDS[kind].value(b, interval) !== null;
    if (plant) {
      planted.add(t);
      if (kind === 'spend') b.cost += g.between(4, 8) * 0.08 * expected * perCall;
      else if (kind === 'output_ratio') b.tokensOut *= g.between(1.5, 3);
      else if (kind === 'failures') b.failed = Math.min(b.requests, b.failed + g.binomial(b.requests, g.between(0.1, 0.4)));
      else if (kind === 'premium_share') {
        drift = drift > 0 ? drift - 1 : 2;
        b.premium = Math.min(b.cost, b.premium + b.cost * g.between(0.15, 0.35));
      } else if (kind === 'off_hours') b.offCost += calls * perCall * g.between(0.5, 2);
      else if (kind === 'agent_loops') b.maxRunCalls = Math.round(runLength * g.between(4, 15));
      else b.accepted = 0;
    }
    values.push(KINDS[kind].value(b, interval));
  }
  return { values, planted };
}

export interface Measured {
  readonly precision: number;
  readonly recall: number;
  readonly planted: number;
  readonly flagged: number;
}

/** Precision and recall of the detector on `n` planted series of a kind (at its default sensitivity unless given). */
export function measure(kind: AnomalyKind, interval: Interval, n: number, sensitivity?: number): Measured {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const o: DetectOptions = detectOptions(kind, interval, sensitivity);
  for (let i = 0; i < n; i++) {
    const { values, planted } = plantedSeries(kind, interval, 1000 + i);
    const flagged = new Set(detect(values, o).map((a) => a.index));
    for (const t of flagged) if (planted.has(t)) tp++;
    else fp++;
    for (const t of planted) if (!flagged.has(t)) fn++;
  }
  return { precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn), planted: tp + fn, flagged: tp + fp };
}
