/**
 * The anomalies report: per member of a dimension, a daily or hourly series of one kind, read
 * from the ledger (the daily rollups where they serve, the lines otherwise), judged by the one
 * method of src/reports/anomaly.ts with the kind's tuning and sensitivity (docs/alerts.md#anomalies).
 */
import { DateTime } from 'luxon';
import { assertRole, type Actor } from '../access/actor.js';
import { BursarError } from '../core/errors.js';
import type { OutcomeDimension, UsageGroup } from '../core/ledger.js';
import type { LedgerStore } from '../core/ports.js';
import { scores } from './anomaly.js';
import { ANOMALY_KINDS, detectOptions, emptyBucket, INTERVALS, KINDS, type AnomalyKind, type Bucket, type Interval } from './anomaly-kinds.js';

export const ANOMALY_BY = ['department', 'project', 'workflow', 'user', 'key', 'agent', 'model', 'application'] as const satisfies readonly OutcomeDimension[];
const MS: Readonly<Record<Interval, number>> = { day: 86_400_000, hour: 3_600_000 };

/** What bursar.yaml says of anomalies: each kind's sensitivity, and the working hours in the organisation's time zone. */
export interface AnomalySettings {
  readonly sensitivity: Partial<Record<AnomalyKind, number>>;
  readonly timezone: string;
  /** Working hours [start, end) in local hours, on ISO weekdays (1 = Monday). */
  readonly workingHours: { readonly start: number; readonly end: number; readonly days: readonly number[] };
}

export const DEFAULT_ANOMALY_SETTINGS: AnomalySettings = { sensitivity: {}, timezone: 'UTC', workingHours: { start: 8, end: 19, days: [1, 2, 3, 4, 5] } };

export interface AnomalyRow {
  readonly member: string;
  readonly currency: string;
  readonly metric: AnomalyKind;
  readonly interval: Interval;
  /** The bucket's start (ISO 8601, UTC), and its day. */
  readonly at: string;
  readonly day: string;
  readonly value: number;
  readonly baseline: number;
  readonly score: number;
  /** What stands behind it, in words (the looping run, the spend of the bucket). */
  readonly note: string | null;
}

type Series = Map<string, { member: string; currency: string; buckets: Bucket[] }>;

/** Anomalies of one kind over the last `recent` buckets, newest first. */
export async function anomalies(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, settings: AnomalySettings = DEFAULT_ANOMALY_SETTINGS, now = Date.now()): Promise<AnomalyRow[]> {
  assertRole(actor, ['admin', 'finance'], 'read anomalies');
  const q = query as { by?: string; metric?: string; interval?: string; days?: string; recent?: string; sensitivity?: string };
  const by = oneOf('by', q.by ?? 'department', ANOMALY_BY);
  const kind = oneOf('metric', q.metric ?? 'spend', ANOMALY_KINDS);
  const interval = oneOf('interval', q.interval ?? 'day', INTERVALS);
  const days = Math.min(730, Math.max(interval === 'day' ? 28 : 2, Number(q.days ?? KINDS[kind].days[interval]) || KINDS[kind].days[interval]));
  const recent = Math.max(1, Number(q.recent ?? (interval === 'day' ? 7 : 24)) || 1);
  const sensitivity = Number(q.sensitivity) || settings.sensitivity[kind] || KINDS[kind].sensitivity;
  const step = MS[interval];
  const end = Math.floor(now / step) * step + step;
  const n = Math.round((days * MS.day) / step);
  const start = end - n * step;
  const series = await read(ledger, { by, kind, interval, start, end, n, settings });
  const out: AnomalyRow[] = [];
  const o = detectOptions(kind, interval, sensitivity);
  // Only the last `recent` buckets are reported; the ones before are their history.
  const from = Math.max(0, n - recent);
  for (const s of series.values()) {
    // A member's history starts with its first activity: the empty buckets before it are no
    // history at all (not a run of zeros that would make every early point look infinite).
    const first = s.buckets.findIndex((b) => b.requests > 0 || b.cost > 0);
    const judged = scores(s.buckets.map((b, i) => (i < first ? null : KINDS[kind].value(b, interval))), o, from);
    for (let t = from; t < n; t++) {
      const a = judged[t];
      const b = s.buckets[t]!;
      if (!a || (a.score <= sensitivity && !KINDS[kind].forced?.(b))) continue;
      const at = new Date(start + t * step).toISOString();
      out.push({ member: s.member, currency: s.currency, metric: kind, interval, at, day: at.slice(0, 10), value: a.value, baseline: a.baseline, score: Math.round(a.score * 100) / 100, note: KINDS[kind].note?.(b, s.currency) ?? null });
    }
  }
  return out.sort((a, b) => b.at.localeCompare(a.at) || b.score - a.score);
}

function oneOf<T extends string>(param: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new BursarError('validation_failed', `${param}: "${value}" is not one of ${allowed.join(', ')}.`, { param });
  return value as T;
}


interface ReadPlan {
  readonly by: (typeof ANOMALY_BY)[number];
  readonly kind: AnomalyKind;
  readonly interval: Interval;
  readonly start: number;
  readonly end: number;
  readonly n: number;
  readonly settings: AnomalySettings;
}

/** Reads a kind's buckets: the daily rollups for daily spend, ratios and shares; the lines for hours, runs and off hours; the outcomes table for accepted outputs. */
async function read(ledger: LedgerStore, p: ReadPlan): Promise<Series> {
  const series: Series = new Map();
  const step = MS[p.interval];
  const bucket = (member: string | null | undefined, currency: string, ts: number): Bucket | undefined => {
    if (member === null || member === undefined) return undefined;
    const k = `${member}\u0000${currency}`;
    let s = series.get(k);
    if (!s) series.set(k, (s = { member, currency, buckets: Array.from({ length: p.n }, emptyBucket) }));
    return s.buckets[Math.floor((ts - p.start) / step)];
  };
  const range = { from: p.start, to: p.end };
  if (p.kind === 'agent_loops' && p.interval === 'day') {
    // Each run's calls per day, from the run rollup where it keeps `by` (department, project, workflow, agent).
    const runs = new Map<string, { member: string | null; currency: string; day: string; run: string; calls: number; loop: number }>();
    for (const r of await ledger.aggregate({ ...range, groupBy: [p.by, 'day', 'agent_run', 'source', 'error_code'] })) {
      const run = r.group.agent_run;
      if (r.group.source !== 'gateway' || !run) continue;
      const k = `${r.group[p.by]}\u0000${r.currency}\u0000${r.group.day}\u0000${run}`;
      const e = runs.get(k) ?? { member: r.group[p.by] ?? null, currency: r.currency, day: String(r.group.day), run, calls: 0, loop: 0 };
      e.calls += r.requests;
      if (r.group.error_code === 'agent_loop') e.loop += r.requests;
      runs.set(k, e);
    }
    for (const e of runs.values()) {
      const b = bucket(e.member, e.currency, Date.parse(`${e.day}T00:00:00Z`));
      if (!b) continue;
      b.runs++;
      b.loopRefused += e.loop;
      if (e.calls > b.maxRunCalls || (e.calls === b.maxRunCalls && b.maxRun !== null && e.run < b.maxRun)) [b.maxRunCalls, b.maxRun] = [e.calls, e.run];
    }
    return series;
  }
  if (p.kind === 'agent_loops') {
    for (const r of await ledger.agentRuns({ ...range, groupBy: [p.by] })) {
      const b = bucket(r.group[p.by], r.currency, r.lastTs);
      if (!b) continue;
      b.runs++;
      b.loopRefused += r.loopRefused;
      if (r.calls + r.refused > b.maxRunCalls) [b.maxRunCalls, b.maxRun] = [r.calls + r.refused, r.run];
    }
    return series;
  }
  const hourly = p.interval === 'hour' || p.kind === 'off_hours';
  const time: UsageGroup = hourly ? 'hour' : 'day';
  const at = (text: string | null | undefined) => Date.parse(hourly ? `${text}:00:00Z` : `${String(text)}T00:00:00Z`);
  const working = workingHour(p.settings);
  // Every kind reads the same report (read once per check by the alert job); premium share also
  // reads the premium tier's cost, side by side, rather than triple the rows by grouping by tier.
  const [rows, premium] = await Promise.all([
    ledger.aggregate({ ...range, groupBy: [p.by, time, 'source', 'status'] }),
    p.kind === 'premium_share' ? ledger.aggregate({ ...range, groupBy: [p.by, time, 'source'], where: { tier: ['premium'] } }) : [],
  ]);
  for (const r of premium) {
    const b = r.group.source === 'gateway' ? bucket(r.group[p.by], r.currency, at(r.group[time])) : undefined;
    if (b) b.premium += Number(r.costNano) / 1e9;
  }
  for (const r of rows) {
    if (r.group.source !== 'gateway') continue;
    const ts = at(r.group[time]);
    const b = bucket(r.group[p.by], r.currency, ts);
    if (!b) continue;
    const cost = Number(r.costNano) / 1e9;
    b.cost += cost;
    b.tokensIn += r.tokens.input + r.tokens.cached_input + r.tokens.cache_write;
    b.tokensOut += r.tokens.output + r.tokens.reasoning;
    b.requests += r.group.status === 'refused' ? 0 : r.requests;
    if (r.group.status === 'error' || r.group.status === 'partial' || r.group.status === 'cancelled') b.failed += r.requests;
    if (p.kind === 'off_hours') {
      if (working(ts)) b.working = p.interval === 'hour';
      else b.offCost += cost;
    }
  }
  if (p.kind === 'unproductive') {
    // Only members that report outcomes: the others' acceptance is unknown, not zero.
    const reporting = new Set<string>();
    // A member's series, one per currency it spent in.
    const ofMember = new Map<string, Bucket[][]>();
    for (const s of series.values()) ofMember.set(s.member, [...(ofMember.get(s.member) ?? []), s.buckets]);
    for (const o of await ledger.outcomeTotals({ ...range, groupBy: [p.by], interval: p.interval })) {
      const member = o.group[p.by];
      if (member === null || member === undefined) continue;
      reporting.add(member);
      const ts = Date.parse(p.interval === 'hour' ? `${o.group.hour}:00:00Z` : `${o.group.day}T00:00:00Z`);
      for (const buckets of ofMember.get(member) ?? []) {
        const b = buckets[Math.floor((ts - p.start) / step)];
        if (b) b.accepted += o.accepted;
      }
    }
    for (const [k, s] of series) if (!reporting.has(s.member)) series.delete(k);
  }
  return series;
}

/** Whether the hour starting at `ts` is a working hour, in the organisation's time zone. */
export function workingHour(s: AnomalySettings): (ts: number) => boolean {
  return (ts) => {
    const t = DateTime.fromMillis(ts, { zone: s.timezone });
    return s.workingHours.days.includes(t.weekday) && t.hour >= s.workingHours.start && t.hour < s.workingHours.end;
  };
}
