/**
 * Anomalies as alerts: every hour, each kind's anomalies of each department (docs/alerts.md#anomalies)
 * become events, once per department, kind and day (the event log keeps the first), which the
 * notifications carry to finance and the department's manager. Loops and failures burn money by
 * the hour, so they are judged on hourly series (the last two hours); the rest on daily ones
 * (the last two days).
 */
import { SYSTEM_ACTOR } from '../access/actor.js';
import type { UsageQuery, UsageRow } from '../core/ledger.js';
import type { EventLog, LedgerStore } from '../core/ports.js';
import { ANOMALY_KINDS, KINDS, type AnomalyKind } from '../reports/anomaly-kinds.js';
import { anomalies, DEFAULT_ANOMALY_SETTINGS, type AnomalySettings } from '../reports/anomaly-report.js';
import type { Notifier } from './notifier.js';

export interface AnomalyAlertDeps {
  readonly ledger: LedgerStore;
  readonly events: EventLog;
  readonly notifier: Notifier;
  readonly settings?: AnomalySettings;
  /** The kinds that alert (default: all). */
  readonly kinds?: readonly AnomalyKind[];
}

/** The ledger for one check: several kinds read the same history (spend, output ratio, unproductive), which is then read once. */
function readingOnce(ledger: LedgerStore): LedgerStore {
  const reports = new Map<string, Promise<UsageRow[]>>();
  const aggregate = (q: UsageQuery): Promise<UsageRow[]> => {
    const key = JSON.stringify(q);
    let rows = reports.get(key);
    if (!rows) reports.set(key, (rows = ledger.aggregate(q)));
    return rows;
  };
  return new Proxy(ledger, { get: (target, prop) => (prop === 'aggregate' ? aggregate : Reflect.get(target, prop, target)) });
}

export class AnomalyAlerts {
  /** The UTC day each once-a-day kind was last judged. */
  private readonly judgedOn = new Map<AnomalyKind, string>();

  constructor(private readonly d: AnomalyAlertDeps) {}

  /** Records (once) and sends the recent anomalies of every alerting kind; returns how many were new. */
  async check(now = Date.now()): Promise<number> {
    let n = 0;
    const today = new Date(now).toISOString().slice(0, 10);
    const ledger = readingOnce(this.d.ledger);
    for (const metric of this.d.kinds ?? ANOMALY_KINDS) {
      const { alert, relative } = KINDS[metric];
      // Kinds that read weeks of lines (hours of the day) are judged once a UTC day: their answer changes little within it.
      if (alert.daily) {
        if (this.judgedOn.get(metric) === today) continue;
        this.judgedOn.set(metric, today);
      }
      const interval = alert.interval;
      // Money to the cent; ratios and shares to four places.
      const places = relative ? 2 : 4;
      for (const a of await anomalies(ledger, { by: 'department', metric, interval, recent: '2' }, SYSTEM_ACTOR, this.d.settings ?? DEFAULT_ANOMALY_SETTINGS, now)) {
        const event = {
          id: `anomaly|department|${a.member}|${a.day}|${metric}`, ts: now, kind: 'anomaly', budget: `department:${a.member}`,
          details: { department: a.member, day: a.day, at: a.at, interval, metric, value: a.value.toFixed(places), baseline: a.baseline.toFixed(places), score: a.score, currency: a.currency, note: a.note },
        };
        if (!(await this.d.events.record(event))) continue;
        await this.d.notifier.publish(event);
        n++;
      }
    }
    return n;
  }

  start(): NodeJS.Timeout {
    const timer = setInterval(() => void this.check().catch(() => {}), 3_600_000);
    timer.unref();
    return timer;
  }
}
