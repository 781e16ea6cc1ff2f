/**
 * Budget limits sized to the demo's traffic. A monthly budget's use depends on how much of the
 * month has passed when the demo runs, so each limit is what its scope is expected to spend in
 * its window (the plan's calls, at each key's measured cost per call) over the share of it the
 * budget should show: support past 75% (so its route steps down), marketing
 * past 90% after the spike, the sandbox run out (so its last calls are refused).
 */
import { DateTime } from 'luxon';
import { DEMO_KEYS, type DemoBudget, type DemoKey, type DemoLimits, type DemoWindows } from './organisation.js';
import { DAY_MS, SANDBOX_DAYS, type DemoPlan } from './traffic.js';

/**
 * What one call of each key costs on average at its route's default tier, in millionths of a
 * pound (measured from a seeding with unlimited budgets; docs/demo.md says how to measure again).
 */
const MICRO_GBP_PER_CALL: Readonly<Record<DemoKey, number>> = {
  'support-bot': 900, 'triage-agent': 75, 'alice-laptop': 839, 'mia-laptop': 840, 'seo-writer': 1236,
  'chen-contracts': 32208, 'lena-contracts': 29701, 'eli-ide': 4118, 'priya-ide': 4210, 'release-notes-agent': 598,
  'ml-sandbox': 1750, 'invoice-extraction': 167, 'sam-crm': 56, 'sara-crm': 56, 'lead-enrichment': 56, 'intranet-faq': 2,
};

/** Each budget: which keys' calls it covers, from when it counts, and the share of its limit they should fill. */
interface Target {
  readonly keys: (k: DemoKey) => boolean;
  readonly share: number;
  readonly window: 'month' | 'pilot' | 'sandbox';
  /** Members of a per-user budget the spend spreads over. */
  readonly members?: number;
}

const department = (d: string) => (k: DemoKey): boolean => departmentOf(k) === d;
const TARGETS: Readonly<Record<DemoBudget, Target>> = {
  company: { keys: () => true, share: 0.62, window: 'month' },
  'marketing-monthly': { keys: department('marketing'), share: 0.93, window: 'month' },
  'support-monthly': { keys: department('support'), share: 0.82, window: 'month' },
  'legal-monthly': { keys: department('legal'), share: 0.55, window: 'month' },
  'engineering-monthly': { keys: (k) => department('engineering')(k) && k !== 'ml-sandbox', share: 0.45, window: 'month' },
  'finance-monthly': { keys: department('finance'), share: 0.35, window: 'month' },
  'sales-monthly': { keys: department('sales'), share: 0.7, window: 'month' },
  'contract-review-pilot': { keys: department('legal'), share: 0.8, window: 'pilot' },
  'ml-sandbox': { keys: (k) => k === 'ml-sandbox', share: 1.12, window: 'sandbox' },
  'sales-per-person': { keys: department('sales'), share: 0.6, window: 'month', members: 2 },
  'release-notes-runs': { keys: (k) => k === 'release-notes-agent', share: 0.5, window: 'month' },
};

const PROJECT_DEPARTMENT: Readonly<Record<string, string>> = {
  'support-bot': 'support', 'ticket-triage': 'support', 'campaign-assistant': 'marketing', 'seo-writer': 'marketing',
  'contract-review': 'legal', 'code-assistant': 'engineering', 'release-notes-agent': 'engineering', 'ml-sandbox': 'engineering',
  'ai-platform': 'engineering', 'invoice-extraction': 'finance', 'sales-emails': 'sales',
};

export function departmentOf(k: DemoKey): string {
  return PROJECT_DEPARTMENT[DEMO_KEYS[k].project]!;
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The pilot runs from the plan's first day for three months; the sandbox for its days and as many again. */
export function demoWindows(plan: DemoPlan): DemoWindows {
  const today = plan.start + (plan.days - 1) * DAY_MS;
  return {
    pilot: { from: day(plan.start), to: day(plan.start + 90 * DAY_MS) },
    sandbox: { from: day(today - (SANDBOX_DAYS - 1) * DAY_MS), to: day(today + SANDBOX_DAYS * DAY_MS) },
  };
}

/**
 * The limit of each budget, in pounds with pence, for this plan. A monthly budget is sized to
 * the fuller of the two months the plan spans, so that early in a month last month's window
 * (which then holds most of the traffic) is the one near its thresholds, not one far past them.
 */
export function demoLimits(plan: DemoPlan, timezone: string): DemoLimits {
  const windows = demoWindows(plan);
  const fixed = { pilot: Date.parse(windows.pilot.from), sandbox: Date.parse(windows.sandbox.from) };
  const monthOf = (ms: number): number => DateTime.fromMillis(ms, { zone: timezone }).startOf('month').toMillis();
  const out = {} as Record<DemoBudget, string>;
  for (const [id, t] of Object.entries(TARGETS) as [DemoBudget, Target][]) {
    const spent = new Map<number, number>();
    for (const task of plan.tasks) {
      const w = t.window === 'month' ? monthOf(task.at) : task.at >= fixed[t.window] ? 0 : null;
      if (w === null) continue;
      for (const c of task.calls) if (t.keys(c.key)) spent.set(w, (spent.get(w) ?? 0) + MICRO_GBP_PER_CALL[c.key]);
    }
    const micro = Math.max(0, ...spent.values());
    const pence = Math.max(1, Math.round(micro / (t.members ?? 1) / t.share / 10_000));
    out[id] = `${Math.floor(pence / 100)}.${String(pence % 100).padStart(2, '0')}`;
  }
  return out;
}
