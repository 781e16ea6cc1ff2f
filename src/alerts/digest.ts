/**
 * The weekly digest: for each budget owner (and department manager), their budgets in plain
 * words and numbers: spend against the limit, this week against last, where the window ends at
 * this pace, the top workflows and users of the week, and the week's anomalies. Sent on the
 * owners' channels every Monday morning (the organisation's time zone), once per week whatever
 * the number of replicas (the event log records it once), and on demand.
 */
import { DateTime } from 'luxon';
import { SYSTEM_ACTOR } from '../access/actor.js';
import { projectToEnd } from '../core/budget.js';
import { formatAmount, parseDecimal } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { EventLog, LedgerStore } from '../core/ports.js';
import type { BudgetIndex } from '../budgets/budget-index.js';
import type { BudgetService } from '../budgets/service.js';
import type { Calendar } from '../budgets/windows.js';
import { anomalies, type AnomalySettings } from '../reports/anomaly-report.js';
import type { Notifier } from './notifier.js';

const DAY = 86_400_000;

export interface DigestDeps {
  readonly ledger: LedgerStore;
  readonly budgets: BudgetService;
  readonly index: BudgetIndex;
  readonly org: OrgTree;
  readonly events: EventLog;
  /** The organisation's anomaly settings (sensitivity of spend). */
  readonly anomalies?: AnomalySettings;
  readonly notifier: Notifier;
  readonly calendar: Calendar;
}

export class Digest {
  constructor(private readonly d: DigestDeps) {}

  /** Who gets a digest: every budget's owner, and the managers of the departments budgets are scoped to. */
  owners(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const add = (user: string | null | undefined, budget: string) => {
      if (!user) return;
      const list = out.get(user) ?? [];
      if (!list.includes(budget)) list.push(budget);
      out.set(user, list);
    };
    for (const b of this.d.index.all()) {
      add(b.owner, b.id);
      for (const dept of [b.spec.scope.department].flat()) if (typeof dept === 'string') add(this.d.org.departments.get(dept)?.manager, b.id);
    }
    return out;
  }

  /** One owner's digest, as text. */
  async compose(user: string, budgetIds: readonly string[], now = Date.now()): Promise<string> {
    const money = (nano: bigint, currency: string) => formatAmount({ nano, currency });
    // The week's unusual days of every department, read once for all of the owner's budgets.
    let odd: Awaited<ReturnType<typeof anomalies>> | null = null;
    const parts: string[] = [`Weekly AI spend for ${this.d.org.users.get(user)?.name ?? user}, week to ${new Date(now).toISOString().slice(0, 10)}.`];
    for (const id of budgetIds) {
      const b = this.d.index.get(id);
      if (!b) continue;
      const status = await this.d.budgets.status(id, SYSTEM_ACTOR, now);
      const members = status.members as { used: { amount: string } | null }[];
      const total = members.length;
      const w = this.d.index.windowOf(b, now);
      const used = members.reduce((a, m) => a + (m.used ? parseDecimal(m.used.amount) : 0n), 0n);
      const limit = b.limitNano;
      const pct = limit ? Number((used * 1000n) / limit) / 10 : null;
      const projected = 'from' in b.window ? null : projectToEnd(used, w.start, w.end, now);
      parts.push(`\nBudget "${b.name}" (${w.label}${b.per ? `, ${total} members` : ''}): ${money(used, b.currency)} spent${limit ? ` of ${money(limit, b.currency)} (${pct}%)` : ''}${projected !== null ? `; at this pace ${money(projected, b.currency)} by the window's end${limit && projected > limit ? ', past the limit' : ''}` : ''}.`);
      const dept = [b.spec.scope.department].flat().find((x): x is string => typeof x === 'string');
      if (!dept) continue;
      // This week against last, and the week's top workflows and users, for the budget's department.
      const week = async (from: number, to: number, by: 'workflow' | 'user' | null) => this.d.ledger.aggregate({ from, to, groupBy: by ? [by] : [], where: { department: [dept] } });
      const sum = (rows: { costNano: bigint }[]) => rows.reduce((a, r) => a + r.costNano, 0n);
      const thisWeek = sum(await week(now - 7 * DAY, now, null));
      const lastWeek = sum(await week(now - 14 * DAY, now - 7 * DAY, null));
      const change = lastWeek === 0n ? null : Number(((thisWeek - lastWeek) * 1000n) / lastWeek) / 10;
      parts.push(`  This week ${money(thisWeek, b.currency)}${change === null ? '' : `, ${change >= 0 ? 'up' : 'down'} ${Math.abs(change)}% on last week (${money(lastWeek, b.currency)})`}.`);
      for (const by of ['workflow', 'user'] as const) {
        const top = (await week(now - 7 * DAY, now, by)).filter((r) => r.group[by] !== null).sort((a, c) => (c.costNano > a.costNano ? 1 : -1)).slice(0, 3);
        if (top.length) parts.push(`  Top ${by}s: ${top.map((r) => `${r.group[by]} ${money(r.costNano, r.currency)}`).join(', ')}.`);
      }
      odd ??= await anomalies(this.d.ledger, { by: 'department', metric: 'spend', recent: '7' }, SYSTEM_ACTOR, this.d.anomalies, now);
      const mine = odd.filter((a) => a.member === dept);
      parts.push(mine.length ? `  Unusual days: ${mine.map((a) => `${a.day} (${a.value.toFixed(2)} against a usual ${a.baseline.toFixed(2)})`).join(', ')}.` : '  No unusual days.');
    }
    return parts.join('\n');
  }

  /** Sends every owner's digest for the week of `now`, once per owner and week. Returns how many were queued. */
  async send(now = Date.now(), force = false): Promise<number> {
    const weekStart = DateTime.fromMillis(now, { zone: this.d.calendar.zone }).startOf('week').toISODate();
    let n = 0;
    for (const [user, budgets] of this.owners()) {
      const id = `digest|${user}|${weekStart}${force ? `|${now}` : ''}`;
      const text = await this.compose(user, budgets, now);
      const event = { id, ts: now, kind: 'digest', budget: budgets[0]!, details: { user, text, week: weekStart } };
      if (!(await this.d.events.record(event))) continue;
      n += await this.d.notifier.publishTo(event, user);
    }
    return n;
  }

  /** Every ten minutes: after 08:00 on Monday (the organisation's time zone), this week's digests, once. */
  start(): NodeJS.Timeout {
    const timer = setInterval(() => {
      const local = DateTime.now().setZone(this.d.calendar.zone);
      if (local.weekday === 1 && local.hour >= 8) void this.send().catch(() => {});
    }, 600_000);
    timer.unref();
    return timer;
  }
}
