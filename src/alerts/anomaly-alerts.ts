/**
 * Anomalies as alerts: every hour, the spend anomalies of each department over the last two
 * days (docs/alerts.md#anomalies) become events, once per department and day, which the
 * notifications carry to finance and the department's manager.
 */
import { SYSTEM_ACTOR } from '../access/actor.js';
import type { EventLog, LedgerStore } from '../core/ports.js';
import { anomalies } from '../reports/anomaly.js';
import type { Notifier } from './notifier.js';

export class AnomalyAlerts {
  constructor(private readonly d: { readonly ledger: LedgerStore; readonly events: EventLog; readonly notifier: Notifier }) {}

  /** Records (once) and sends the recent spend anomalies; returns how many were new. */
  async check(now = Date.now()): Promise<number> {
    let n = 0;
    for (const a of await anomalies(this.d.ledger, { by: 'department', metric: 'spend', recent: '2' }, SYSTEM_ACTOR, now)) {
      const event = {
        id: `anomaly|department|${a.member}|${a.day}|spend`, ts: now, kind: 'anomaly', budget: `department:${a.member}`,
        details: { department: a.member, day: a.day, metric: a.metric, value: a.value.toFixed(2), baseline: a.baseline.toFixed(2), score: a.score, currency: a.currency },
      };
      if (!(await this.d.events.record(event))) continue;
      await this.d.notifier.publish(event);
      n++;
    }
    return n;
  }

  start(): NodeJS.Timeout {
    const timer = setInterval(() => void this.check().catch(() => {}), 3_600_000);
    timer.unref();
    return timer;
  }
}
