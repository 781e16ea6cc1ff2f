/**
 * The anomalies report over a ledger: ninety days of a department's daily spend with a weekly
 * pattern, and one day of unusual growth, which the report names; a steady department is quiet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../../src/core/ledger.js';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
beforeAll(async () => {
  // Every hour a working hour: these series are about other kinds than off-hours use.
  t = await startTestBursar({ yaml: `${ORG_YAML}
anomalies:
  working_hours: { start: 0, end: 24, days: [monday, tuesday, wednesday, thursday, friday, saturday, sunday] }
` });
});
afterAll(() => t.close());

describe('anomalies', () => {
  it('name the day a department\'s spend grew unusually, and leave a steady one alone', async () => {
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const lines: LedgerLine[] = [];
    for (let d = 89; d >= 0; d--) {
      const ts = today - d * DAY + 10 * 3_600_000; // in working hours
      const weekend = new Date(ts).getUTCDay() % 6 === 0;
      for (const dept of ['marketing', 'support']) {
        const wiggle = ((d * 37) % 11) - 5; // deterministic noise, +-5%
        let cost = BigInt(Math.round((weekend ? 60 : 100) + wiggle)) * 1_000_000n;
        if (dept === 'marketing' && d === 1) cost *= 3n; // yesterday, spend tripled
        const b = blankLine(`an-${dept}-${d}`, ts);
        lines.push({ ...b, dims: { ...b.dims, department: dept }, costNano: cost, orgCostNano: cost, endpoint: 'chat', status: 'ok' });
      }
    }
    await t.b.stores.ledger.append(lines);
    const rows = (await t.admin<{ data: { member: string; day: string; metric: string; value: number; baseline: number; score: number }[] }>('GET', '/reports/anomalies?by=department&metric=spend&recent=7')).body.data;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ member: 'marketing', metric: 'spend', day: new Date(today - DAY).toISOString().slice(0, 10) });
    expect(rows[0]!.value).toBeGreaterThan(2 * rows[0]!.baseline);
    expect(rows[0]!.score).toBeGreaterThan(3.5);
    expect((await t.admin<{ error: { param: string } }>('GET', '/reports/anomalies?metric=vibes')).body.error.param).toBe('metric');
    // As alerts: an event once per department and day, for finance and the department's manager.
    expect(await t.b.anomalyAlerts.check()).toBe(1);
    expect(await t.b.anomalyAlerts.check()).toBe(0);
    const events = (await t.admin<{ data: { kind: string; details: { department: string; day: string } }[] }>('GET', '/events?budget=department:marketing')).body.data;
    expect(events).toEqual([expect.objectContaining({ kind: 'anomaly', details: expect.objectContaining({ department: 'marketing', day: rows[0]!.day, metric: 'spend' }) })]);
  });

  it('name the day a workflow\'s spend drifted to the premium tier, from the premium tier\'s cost', async () => {
    const DAY = 86_400_000;
    const today = Math.floor(Date.now() / DAY) * DAY;
    const lines: LedgerLine[] = [];
    for (let d = 60; d >= 0; d--) {
      for (const workflow of ['triage', 'drafting']) {
        // Six calls a day, one of them premium (its cost 3 of 8 parts); yesterday five of triage's.
        for (let c = 0; c < 6; c++) {
          const premium = c < (workflow === 'triage' && d === 1 ? 5 : 1);
          const cost = (premium ? 300n : 100n) * 1_000_000n;
          const b = blankLine(`pr-${workflow}-${d}-${c}`, today - d * DAY + 10 * 3_600_000 + c);
          // Not research's: the hourly test below reads research's calls hour by hour, and these, at 10:00 each day, would fall in its hours at some times of day.
          lines.push({ ...b, dims: { ...b.dims, department: 'product', workflow, tier: premium ? 'premium' : 'economy' }, costNano: cost, orgCostNano: cost, endpoint: 'chat', status: 'ok' });
        }
      }
    }
    await t.b.stores.ledger.append(lines);
    const rows = (await t.admin<{ data: { member: string; day: string; value: number; baseline: number }[] }>('GET', '/reports/anomalies?by=workflow&metric=premium_share&recent=7')).body.data;
    expect(rows).toEqual([expect.objectContaining({ member: 'triage', day: new Date(today - DAY).toISOString().slice(0, 10) })]);
    // 1,500 of 1,600 that day, against 300 of 800 every other day.
    expect(rows[0]!.value).toBeCloseTo(1500 / 1600, 6);
    expect(rows[0]!.baseline).toBeCloseTo(300 / 800, 6);
  });

  it('find a looping agent run and an hour of failures on hourly series; each alerts once', async () => {
    const HOUR = 3_600_000;
    const DAY = 24 * HOUR;
    const now = Date.now();
    const thisHour = Math.floor(now / HOUR) * HOUR;
    const lines: LedgerLine[] = [];
    const add = (id: string, ts: number, over: Partial<LedgerLine> & { run?: string; workflow?: string } = {}) => {
      const { run, workflow, ...rest } = over;
      const b = blankLine(id, ts);
      lines.push({ ...b, dims: { ...b.dims, department: 'research', workflow: workflow ?? 'digest', agent: 'scout', agent_run: run ?? null }, costNano: 1_000_000n, orgCostNano: 1_000_000n, endpoint: 'chat', ...rest });
    };
    // Nine days of hours, ten calls each, in agent runs of five calls.
    for (let h = 9 * 24; h >= 1; h--) {
      for (let c = 0; c < 10; c++) add(`h${h}-${c}`, thisHour - h * HOUR + c * 1000, { run: `run-${h}-${c >> 2}`.replace(/-2$/, '-1'), status: h === 3 && c < 6 ? 'error' : 'ok' });
    }
    // Three hours ago 6 of 10 calls failed (above). An hour ago: a run of 60 calls, and the loop guard refused it.
    for (let c = 0; c < 60; c++) add(`loop-${c}`, thisHour - HOUR + c * 1000, { run: 'run-loop' });
    add('loop-refused', thisHour - HOUR + 61_000, { run: 'run-loop', status: 'refused', errorCode: 'agent_loop', costNano: 0n, orgCostNano: 0n });
    await t.b.stores.ledger.append(lines);

    const get = async (q: string) => (await t.admin<{ data: { member: string; metric: string; interval: string; at: string; note: string | null }[] }>('GET', `/reports/anomalies?${q}`)).body.data;
    const loops = await get('by=agent&metric=agent_loops&interval=hour');
    expect(loops).toEqual([expect.objectContaining({ member: 'scout', interval: 'hour', at: new Date(thisHour - HOUR).toISOString(), note: 'run "run-loop" made 61 calls; the loop guard refused 1' })]);
    const failures = await get('by=department&metric=failures&interval=hour');
    expect(failures).toEqual([expect.objectContaining({ member: 'research', at: new Date(thisHour - 3 * HOUR).toISOString(), note: '6 of 10 calls failed, were cut off or cancelled' })]);
    expect((await t.admin<{ error: { param: string } }>('GET', '/reports/anomalies?interval=week')).body.error.param).toBe('interval');
    // As alerts, per department: the loop of the last hours, once.
    const before = (await t.b.stores.events.list({ budget: 'department:research' })).length;
    expect(await t.b.anomalyAlerts.check(now)).toBeGreaterThanOrEqual(1);
    expect(await t.b.anomalyAlerts.check(now)).toBe(0);
    const events = (await t.b.stores.events.list({ budget: 'department:research' })).slice(before);
    expect(events.map((e) => e.details.metric)).toContain('agent_loops');
    expect(events.find((e) => e.details.metric === 'agent_loops')!.details.note).toBe('run "run-loop" made 61 calls; the loop guard refused 1');
  });
});
