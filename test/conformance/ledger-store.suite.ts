/**
 * The LedgerStore conformance suite: every adapter (SQLite, PostgreSQL) runs these same tests.
 */
import { describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine, type RoutingSums } from '../../src/core/ledger.js';
import type { LedgerStore } from '../../src/core/ports.js';

export interface LedgerFixture {
  readonly store: LedgerStore;
  close(): Promise<void>;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

export function line(id: string, over: Partial<LedgerLine> & { dept?: string; model?: string } = {}): LedgerLine {
  const { dept, model, ...rest } = over;
  const base = blankLine(id, T0);
  return {
    ...base,
    dims: { ...base.dims, department: dept ?? 'marketing', model: model ?? 'gpt-4o-mini', provider: 'openai' },
    tokens: { input: 100, cached_input: 10, cache_write: 0, output: 50, reasoning: 5 },
    costNano: 1_000n,
    ...rest,
  };
}

/**
 * Each agent run whole, as the agent-run table keeps it: from its lines, with its first call (whose
 * group it counts in), and its cost in the one currency its costly calls were priced in, else in
 * the organisation's.
 */
function wholeRuns(lines: readonly LedgerLine[]) {
  const out = new Map<string, { run: string; first: LedgerLine; last: number; calls: number; refused: number; loop: number; orgCost: bigint; cancelled: number; cost: bigint; currencies: Set<string> }>();
  for (const l of lines) {
    const run = l.dims.agent_run;
    if (!run || l.source !== 'gateway') continue;
    const r = out.get(run) ?? { run, first: l, last: l.ts, calls: 0, refused: 0, loop: 0, orgCost: 0n, cancelled: 0, cost: 0n, currencies: new Set<string>() };
    if (l.ts < r.first.ts) r.first = l;
    r.last = Math.max(r.last, l.ts);
    r.calls++;
    if (l.status === 'refused') r.refused++;
    if (l.errorCode === 'agent_loop') r.loop++;
    r.orgCost += l.orgCostNano;
    r.cost += l.costNano;
    if (l.costNano !== 0n) r.currencies.add(l.currency);
    if (l.status === 'cancelled') r.cancelled = Math.max(r.cancelled, l.ts);
    out.set(run, r);
  }
  return [...out.values()].map((r) => ({
    ...r, ...(r.currencies.size === 1 ? { currency: [...r.currencies][0]!, reported: r.cost } : { currency: r.first.orgCurrency, reported: r.orgCost }),
  }));
}

export function ledgerStoreSuite(name: string, open: () => Promise<LedgerFixture>): void {
  describe(`LedgerStore conformance: ${name}`, () => {
    it('stores every field and gives it back unchanged', async () => {
      const f = await open();
      try {
        const l = line('full-1', {
          tags: { ticket: 'T-1', 'a.b': 'x y' }, stream: true, cacheHit: true, acceptedOutput: false, humanReview: true,
          httpStatus: 200, errorCode: null, latencyMs: 123, ttfbMs: 45, usageExact: false, status: 'partial',
          priceVersion: 'openai/gpt-4o-mini@2024-07-18', costNano: 9_007_199_254_740_993n, currency: 'EUR', toolCalls: 3,
          agentSteps: 2, retrievalCalls: 1, runStatus: 'done', blockEvent: 'budget:x', spendCategory: 'development', endpoint: 'chat',
        });
        expect((await f.store.append([l])).added).toEqual([l]);
        expect(await f.store.get('full-1')).toEqual(l);
        expect(await f.store.get('missing')).toBeUndefined();
      } finally {
        await f.close();
      }
    });

    it('stores a batch whose lines fill different fields, in any number, each line as it was', async () => {
      const f = await open();
      try {
        // 101 lines: 64 + 32 + 4 + 1, every statement size; which optional fields a line fills varies within each.
        const lines = Array.from({ length: 101 }, (_, i) => line(`shape-${i}`, {
          ...(i % 3 === 0 ? { tags: { ticket: `T-${i}` } } : {}),
          ...(i % 5 === 0 ? { errorCode: 'upstream_timeout', status: 'error' as const, httpStatus: 504 } : { latencyMs: i }),
          ...(i === 100 ? { description: 'the last line alone', periodEnd: T0 + DAY } : {}),
          ...(i % 2 ? { acceptedOutput: i % 4 === 1 } : {}),
        }));
        expect((await f.store.append(lines)).added).toHaveLength(101);
        for (const l of lines) expect(await f.store.get(l.id)).toEqual(l);
        // A replay of some of them beside new ones, in the same mix: only the new are added, as they were.
        const more = [...lines.slice(90), line('shape-new', { tags: { ticket: 'T-new' }, latencyMs: 7 })];
        expect((await f.store.append(more)).added.map((l) => l.id)).toEqual(['shape-new']);
        expect(await f.store.get('shape-new')).toEqual(more.at(-1));
      } finally {
        await f.close();
      }
    });

    it('skips a line whose id is already there, so replays count once', async () => {
      const f = await open();
      try {
        expect((await f.store.append([line('dup-1'), line('dup-2')])).added.map((l) => l.id)).toEqual(['dup-1', 'dup-2']);
        expect((await f.store.append([line('dup-2', { costNano: 999n }), line('dup-3')])).added.map((l) => l.id)).toEqual(['dup-3']);
        expect((await f.store.get('dup-2'))!.costNano).toBe(1_000n);
        // The replayed line is not summed twice in the daily rollups either.
        const rows = await f.store.aggregate({ from: T0 - DAY, to: T0 + 2 * DAY, groupBy: ['department'] });
        expect(rows.map((r) => [r.requests, r.costNano])).toEqual([[3, 3_000n]]);
      } finally {
        await f.close();
      }
    });

    it('aggregates by dimensions, day and tag, per currency, with exact sums past 2^53', async () => {
      const f = await open();
      try {
        const big = 6_000_000_000_000_000n; // two of these pass 2^53
        await f.store.append([
          line('a1', { dept: 'marketing', costNano: big, tags: { ticket: 'T1' } }),
          line('a2', { dept: 'marketing', costNano: big, tags: { ticket: 'T2' } }),
          line('a3', { dept: 'support', costNano: 7n, ts: T0 + DAY, usageExact: false }),
          line('a4', { dept: 'support', costNano: 5n, currency: 'EUR', ts: T0 + DAY }),
          line('a5', { dept: 'support', costNano: 1n, ts: T0 + 40 * DAY }),
        ]);
        const rows = await f.store.aggregate({ from: T0, to: T0 + 30 * DAY, groupBy: ['department'] });
        const m = rows.find((r) => r.group.department === 'marketing')!;
        expect(m.costNano).toBe(2n * big);
        expect(m.requests).toBe(2);
        expect(m.tokens).toEqual({ input: 200, cached_input: 20, cache_write: 0, output: 100, reasoning: 10 });
        const s = rows.filter((r) => r.group.department === 'support').map((r) => [r.currency, r.costNano, r.estimatedLines]);
        expect(s).toEqual(expect.arrayContaining([['USD', 7n, 1], ['EUR', 5n, 0]]));
        expect(rows[0]!.group.department).toBe('marketing');

        const byDay = await f.store.aggregate({ from: T0, to: T0 + 30 * DAY, groupBy: ['day'], where: { department: ['support'] } });
        expect(byDay.map((r) => [r.group.day, r.currency])).toEqual(expect.arrayContaining([['2026-11-02', 'USD'], ['2026-11-02', 'EUR']]));
        const byTag = await f.store.aggregate({ from: T0, to: T0 + 30 * DAY, groupBy: ['tag:ticket'], where: { department: ['marketing'] } });
        expect(byTag.map((r) => r.group['tag:ticket']).sort()).toEqual(['T1', 'T2']);
        expect(await f.store.aggregate({ from: T0, to: T0 + DAY, groupBy: ['department'], where: { department: [] } })).toEqual([]);
      } finally {
        await f.close();
      }
    });

    it('gives the same report from the daily rollups as from the lines, at any range edges', async () => {
      const f = await open();
      try {
        const depts = ['marketing', 'support', 'finance'];
        const models = ['gpt-4o-mini', 'claude-sonnet-4', 'gpt-4o'];
        const lines: LedgerLine[] = [];
        for (let i = 0; i < 600; i++) {
          // Spread over five days and two months' boundary, at uneven times.
          const ts = T0 - 2 * DAY + Math.floor((i * 5 * DAY) / 600) + (i % 7) * 1000;
          const l = line(`r-${i}`, {
            ts, dept: depts[i % 3]!, model: models[(i * 7) % 3]!, costNano: BigInt(1 + ((i * 7919) % 100_000)),
            currency: i % 10 === 0 ? 'EUR' : 'USD', usageExact: i % 4 !== 0, tags: i % 2 ? { ticket: `T${i % 5}` } : null,
            status: i % 13 === 0 ? 'error' : 'ok',
          });
          // Some calls routed (a baseline), some of those cache hits; users only in the per-person rollup.
          const routed = i % 3 !== 0;
          lines.push({
            ...l, dims: { ...l.dims, user: `u${i % 4}`, route: routed ? `route-${i % 2}` : null, agent: i % 4 === 1 ? 'bot' : null, agent_run: i % 4 === 1 ? `run-${i % 9}` : null },
            baselineOrgNano: routed ? l.orgCostNano * 2n : null, cacheHit: routed && i % 5 === 0, avoidedOrgNano: routed && i % 5 === 0 ? 7n : null,
            errorCode: i % 13 === 0 ? 'upstream_timeout' : null,
          });
        }
        await f.store.append(lines.slice(0, 300));
        await f.store.append(lines.slice(300));
        const expected = (from: number, to: number, by: (l: LedgerLine) => string) => {
          const m = new Map<string, { requests: number; cost: bigint; estimated: number }>();
          for (const l of lines) {
            if (l.ts < from || l.ts >= to) continue;
            const k = `${by(l)}|${l.currency}`;
            const e = m.get(k) ?? { requests: 0, cost: 0n, estimated: 0 };
            e.requests++;
            e.cost += l.costNano;
            if (!l.usageExact) e.estimated++;
            m.set(k, e);
          }
          return m;
        };
        const ranges: [number, number][] = [
          [T0 - 2 * DAY, T0 + 3 * DAY], // whole days only
          [T0 - 2 * DAY + 3_600_000, T0 + 2 * DAY + 7_777], // ragged at both ends
          [T0 - 1, T0 + 1], // no whole day
          [T0 - DAY - 123, T0 + 10 * DAY],
          [T0 - 2 * DAY, T0 + DAY - 3_600_000], // ends late in a day: that day's rollup row less its last hour's lines
        ];
        for (const [from, to] of ranges) {
          const rows = await f.store.aggregate({ from, to, groupBy: ['department', 'model'] });
          const want = expected(from, to, (l) => `${l.dims.department}|${l.dims.model}`);
          expect(rows.length).toBe(want.size);
          for (const r of rows) {
            const e = want.get(`${r.group.department}|${r.group.model}|${r.currency}`)!;
            expect([r.requests, r.costNano, r.estimatedLines]).toEqual([e.requests, e.cost, e.estimated]);
          }
          for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.costNano >= rows[i]!.costNano).toBe(true);
          const byMonth = await f.store.aggregate({ from, to, groupBy: ['month', 'status'], where: { department: ['support'] } });
          const wantMonth = expected(from, to, (l) => (l.dims.department === 'support' ? `${new Date(l.ts).toISOString().slice(0, 7)}|${l.status}` : 'x'));
          wantMonth.forEach((_, k) => k.startsWith('x|') && wantMonth.delete(k));
          expect(byMonth.map((r) => `${r.group.month}|${r.group.status}|${r.currency}=${r.requests}`).sort()).toEqual([...wantMonth].map(([k, v]) => `${k}=${v.requests}`).sort());
          // Users are only in the per-person rollup; both rollups agree with the lines.
          const byUser = await f.store.aggregate({ from, to, groupBy: ['user'] });
          const wantUser = expected(from, to, (l) => String(l.dims.user));
          expect(byUser.map((r) => `${r.group.user}|${r.currency}=${r.requests}/${r.costNano}`).sort()).toEqual([...wantUser].map(([k, v]) => `${k}=${v.requests}/${v.cost}`).sort());
          // Cache hits and error codes: in the summary and run rollups, and in the lines.
          const byHit = await f.store.aggregate({ from, to, groupBy: ['workflow', 'cache_hit', 'error_code'] });
          const wantHit = expected(from, to, (l) => `${l.dims.workflow}|${l.cacheHit}|${l.errorCode}`);
          expect(byHit.map((r) => `${r.group.workflow}|${r.group.cache_hit}|${r.group.error_code}|${r.currency}=${r.requests}/${r.costNano}`).sort()).toEqual([...wantHit].map(([k, v]) => `${k}=${v.requests}/${v.cost}`).sort());
          // Agent runs have their own rollup.
          const byRun = await f.store.aggregate({ from, to, groupBy: ['agent', 'agent_run', 'status'] });
          const wantRun = expected(from, to, (l) => `${l.dims.agent}|${l.dims.agent_run}|${l.status}`);
          expect(byRun.map((r) => `${r.group.agent}|${r.group.agent_run}|${r.group.status}|${r.currency}=${r.requests}/${r.costNano}`).sort()).toEqual([...wantRun].map(([k, v]) => `${k}=${v.requests}/${v.cost}`).sort());
          // The savings sums, from the summary rollup and the lines.
          const routing = await f.store.aggregate({ from, to, groupBy: ['route'], routing: true });
          for (const route of ['route-0', 'route-1']) {
            const mine = lines.filter((l) => l.ts >= from && l.ts < to && l.dims.route === route);
            const got = routing.filter((r) => r.group.route === route).map((r) => r.routing!);
            const sum = (f: (x: RoutingSums) => bigint | number) => got.reduce((a, x) => a + BigInt(f(x)), 0n);
            expect([sum((x) => x.routed), sum((x) => x.costNano), sum((x) => x.baselineNano), sum((x) => x.cacheHits), sum((x) => x.avoidedNano)]).toEqual([
              BigInt(mine.length), mine.reduce((a, l) => a + l.orgCostNano, 0n), mine.reduce((a, l) => a + l.baselineOrgNano!, 0n),
              BigInt(mine.filter((l) => l.cacheHit).length), BigInt(mine.filter((l) => l.cacheHit).length) * 7n,
            ]);
          }
          expect(routing.filter((r) => r.group.route === null).every((r) => r.routing!.routed === 0)).toBe(true);
          // Tags are not in the rollups: the report reads the lines, and agrees.
          const byTag = await f.store.aggregate({ from, to, groupBy: ['tag:ticket'] });
          expect(byTag.reduce((n, r) => n + r.requests, 0)).toBe([...expected(from, to, () => '').values()].reduce((n, e) => n + e.requests, 0));
        }
      } finally {
        await f.close();
      }
    });

    it('sums each agent\'s runs whole, in the period of their last call and the department and user of their first', async () => {
      const f = await open();
      try {
        const lines: LedgerLine[] = [];
        for (let i = 0; i < 240; i++) {
          const l = line(`ag-${i}`, { ts: T0 - 2 * DAY + Math.floor((i * 4 * DAY) / 240), dept: i % 2 ? 'marketing' : 'support', model: 'gpt-4o', costNano: BigInt(100 + i), status: i % 17 === 0 ? 'refused' : 'ok' });
          const agent = i % 3 === 0 ? null : `agent-${i % 3}`;
          // Runs span days, departments and users; some end on the first day, some on the last.
          const run = agent ? `run-${i % 3}-${i < 60 ? 'early' : i % 7}` : null;
          lines.push({ ...l, orgCostNano: l.costNano, errorCode: i % 34 === 0 ? 'agent_loop' : null, dims: { ...l.dims, user: i % 5 ? 'ann' : 'ben', agent, agent_run: run } });
        }
        // In two appends whose lines interleave in time, so stored runs take earlier and later calls.
        await f.store.append(lines.filter((_, i) => Math.floor(i / 30) % 2 === 1));
        await f.store.append(lines.filter((_, i) => Math.floor(i / 30) % 2 === 0));
        const want = (from: number, to: number, dept?: string, user?: string) => {
          const out = new Map<string, { runs: [string, number][]; calls: number; refused: number; loop: number; cost: bigint }>();
          for (const r of wholeRuns(lines)) {
            const d = r.first.dims;
            if (r.last < from || r.last >= to || !d.agent || (dept && d.department !== dept) || (user && d.user !== user)) continue;
            const a = out.get(d.agent) ?? { runs: [], calls: 0, refused: 0, loop: 0, cost: 0n };
            a.runs.push([r.run, r.calls]);
            a.calls += r.calls;
            a.refused += r.refused;
            a.loop += r.loop;
            a.cost += r.orgCost;
            out.set(d.agent, a);
          }
          return [...out].map(([agent, a]) => {
            const [run, calls] = a.runs.sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))[0]!;
            return `${agent}: ${a.runs.length} runs, ${a.calls} calls, ${a.refused} refused, ${a.loop} loops, ${a.cost}, longest ${run} ${calls}`;
          }).sort();
        };
        const got = async (from: number, to: number, dept?: string, user?: string) => (await f.store.agentSummary({ from, to, ...(dept ? { department: [dept] } : {}), ...(user ? { user: [user] } : {}) }))
          .map((a) => `${a.agent}: ${a.runs} runs, ${a.calls} calls, ${a.refused} refused, ${a.loopRefused} loops, ${a.orgCostNano}, longest ${a.longestRun} ${a.longestRunCalls}`).sort();
        // Whole days, ragged edges, a first day without the runs that go on, a department and a person.
        for (const [from, to] of [[T0 - 2 * DAY, T0 + 2 * DAY], [T0 - 2 * DAY + 3_600_000, T0 + DAY + 7], [T0 - 2 * DAY, T0 - DAY], [T0 - DAY, T0], [T0 - 2 * DAY, T0 + DAY - 3_600_000]] as const) {
          expect(await got(from, to)).toEqual(want(from, to));
          expect(await got(from, to, 'marketing')).toEqual(want(from, to, 'marketing'));
          expect(await got(from, to, undefined, 'ben')).toEqual(want(from, to, undefined, 'ben'));
        }
        // The early runs end on the first day, the others on the last: each run in one period.
        expect((await got(T0 - 2 * DAY, T0 - DAY)).join()).toMatch(/agent-1: 1 runs.*agent-2: 1 runs/);
        expect(await got(T0 - DAY, T0 + DAY)).toEqual([]);
        expect(await f.store.agentSummary({ from: T0 - 2 * DAY, to: T0 + 2 * DAY, department: [] })).toEqual([]);
      } finally {
        await f.close();
      }
    });

    it('reads today whole from the rollups for a range that reaches now, and agrees with the lines', async () => {
      const f = await open();
      try {
        const now = Date.now();
        const today = now - (now % DAY);
        const lines = Array.from({ length: 40 }, (_, i) => line(`today-${i}`, { ts: today + Math.floor(((now - today) * i) / 40), dept: i % 2 ? 'marketing' : 'support', model: 'gpt-4o', costNano: BigInt(1000 + i) }));
        await f.store.append(lines);
        for (const [from, to] of [[today, now + 1], [today - DAY, now + 60_000], [today + 1, now + 1]] as const) {
          const rows = await f.store.aggregate({ from, to, groupBy: ['department'] });
          const want = (d: string) => lines.filter((l) => l.ts >= from && l.ts < to && l.dims.department === d).reduce((a, l) => a + l.costNano, 0n);
          expect(rows.map((r) => `${r.group.department}=${r.costNano}`).sort()).toEqual([`marketing=${want('marketing')}`, `support=${want('support')}`]);
        }
      } finally {
        await f.close();
      }
    });

    it('keeps a dimension holding the rollups\' key separator whole', async () => {
      const f = await open();
      try {
        await f.store.append([line('sep-1', { dept: 'r\u0001d' }), line('sep-2', { dept: 'r\u0001d' }), line('sep-3', { dept: 'r' })]);
        const rows = await f.store.aggregate({ from: T0 - DAY, to: T0 + DAY, groupBy: ['department'] });
        expect(rows.map((r) => `${JSON.stringify(r.group.department)}=${r.requests}`).sort()).toEqual(['"r"=1', '"r\\u0001d"=2']);
      } finally {
        await f.close();
      }
    });

    it('keeps what the lines charged each budget counter, added once, read by key prefix', async () => {
      const f = await open();
      try {
        const charged = (id: string, charges: [string, bigint][], ts = T0) =>
          line(id, { ts, tokens: { input: 10, cached_input: 0, cache_write: 0, output: 5, reasoning: 0 }, budgetCharges: { keys: charges.map(([key]) => key), nanos: charges.map(([, nano]) => nano) } });
        await f.store.append([charged('b1', [['dept|100|', 7n], ['user|100|ann', 7n]]), charged('b2', [['dept|100|', 3n], ['user|100|bob', 3n]])]);
        await f.store.append([charged('b2', [['dept|100|', 3n]]), charged('b3', [['dept|200|', 9_000_000_000_000_000n]], T0 + 40 * DAY), line('b4')]);
        const t = await f.store.budgetTotals(['dept|100|', 'user|100|', 'dept|200|']);
        const by = new Map(t.amounts.map((a) => [a.key, a]));
        expect(by.get('dept|100|')).toEqual({ key: 'dept|100|', nano: 10n, tokens: 30, requests: 2 });
        expect(by.get('user|100|ann')).toEqual({ key: 'user|100|ann', nano: 7n, tokens: 15, requests: 1 });
        expect(by.get('user|100|bob')!.nano).toBe(3n);
        expect(by.get('dept|200|')!.nano).toBe(9_000_000_000_000_000n);
        expect(t.amounts).toHaveLength(4);
        expect((await f.store.budgetTotals(['user|'])).amounts.map((a) => a.key).sort()).toEqual(['user|100|ann', 'user|100|bob']);
        expect((await f.store.budgetTotals(['nothing|'])).amounts).toEqual([]);
      } finally {
        await f.close();
      }
    });

    it('records outcomes, a later report replacing an earlier one, and totals them by dimension', async () => {
      const f = await open();
      try {
        const dims = (workflow: string) => ({ department: 'support', cost_centre: null, project: null, workflow, agent: null, user: null, application: null, environment: null, route: null, model: null, key: 'k1' });
        const o = (id: string, workflow: string, accepted: boolean | null, units: bigint, value: bigint | null) =>
          ({ id, ts: T0 + 5, accepted, unitsNano: units, unit: 'resolution', valueNano: value, currency: value === null ? null : 'USD', dims: dims(workflow) });
        await f.store.recordOutcomes([o('call:a', 'w1', true, 2n, 30n), o('call:b', 'w1', false, 0n, null), o('run:r', 'w2', true, 1n, null)]);
        await f.store.recordOutcomes([o('call:b', 'w1', true, 1n, 10n)]);
        const totals = await f.store.outcomeTotals({ from: T0, to: T0 + DAY, groupBy: ['workflow'] });
        expect(totals.find((t) => t.group.workflow === 'w1')).toMatchObject({ outcomes: 2, accepted: 2, unitsNano: 3n, value: [{ currency: 'USD', nano: 40n }] });
        expect(totals.find((t) => t.group.workflow === 'w2')).toMatchObject({ outcomes: 1, accepted: 1, unitsNano: 1n, value: [] });
      } finally {
        await f.close();
      }
    });

    it('groups by hour, cache hit and error code from the lines, and outcomes by the day or hour they were reported', async () => {
      const f = await open();
      try {
        await f.store.append([
          line('h1', { ts: T0 + 5 * 3_600_000 + 10 }), line('h2', { ts: T0 + 5 * 3_600_000 + 20, cacheHit: true, costNano: 0n }),
          line('h3', { ts: T0 + 6 * 3_600_000, status: 'refused', errorCode: 'agent_loop', costNano: 0n }),
        ]);
        const rows = await f.store.aggregate({ from: T0, to: T0 + DAY, groupBy: ['hour', 'cache_hit', 'error_code'] });
        const at = (hour: string, hit: string) => rows.find((r) => r.group.hour === hour && r.group.cache_hit === hit);
        expect(at('2026-11-01T05', 'false')).toMatchObject({ requests: 1, costNano: 1_000n, group: { error_code: null } });
        expect(at('2026-11-01T05', 'true')).toMatchObject({ requests: 1, costNano: 0n });
        expect(at('2026-11-01T06', 'false')).toMatchObject({ requests: 1, group: { error_code: 'agent_loop' } });
        const dims = { department: 'support', cost_centre: null, project: null, workflow: 'w1', agent: null, user: null, application: null, environment: null, route: null, model: null, key: 'k1' };
        await f.store.recordOutcomes([
          { id: 'call:x', ts: T0 + 3_600_000, accepted: true, unitsNano: 1n, unit: null, valueNano: null, currency: null, dims },
          { id: 'call:y', ts: T0 + DAY + 3_600_000, accepted: false, unitsNano: 0n, unit: null, valueNano: null, currency: null, dims },
        ]);
        const byDay = await f.store.outcomeTotals({ from: T0, to: T0 + 2 * DAY, groupBy: ['workflow'], interval: 'day' });
        expect(byDay.map((t) => [t.group.day, t.outcomes, t.accepted]).sort()).toEqual([['2026-11-01', 1, 1], ['2026-11-02', 1, 0]]);
        const byHour = await f.store.outcomeTotals({ from: T0, to: T0 + DAY, groupBy: [], interval: 'hour' });
        expect(byHour).toMatchObject([{ group: { hour: '2026-11-01T01' }, outcomes: 1 }]);
      } finally {
        await f.close();
      }
    });

    it('sums each agent run per group: calls, refusals, the loop guard\'s, cost and last call', async () => {
      const f = await open();
      try {
        const step = (id: string, run: string, at: number, over: Partial<LedgerLine> = {}) => {
          const l = line(id, { ts: T0 + at, ...over });
          return { ...l, dims: { ...l.dims, agent_run: run, workflow: 'research' } };
        };
        await f.store.append([
          step('r1', 'run-1', 10), step('r2', 'run-1', 20), step('r3', 'run-1', 30, { status: 'refused', errorCode: 'agent_loop', costNano: 0n }),
          step('s1', 'run-2', 40, { status: 'cancelled' }), step('s2', 'run-2', 50), step('s3', 'run-2', 60, { status: 'cancelled' }), line('x', { ts: T0 + 70 }),
        ]);
        const runs = await f.store.agentRuns({ from: T0, to: T0 + DAY, groupBy: ['workflow'] });
        expect(runs.sort((a, b) => a.run.localeCompare(b.run))).toEqual([
          { group: { workflow: 'research' }, run: 'run-1', currency: 'USD', calls: 2, refused: 1, loopRefused: 1, costNano: 2_000n, lastTs: T0 + 30 },
          { group: { workflow: 'research' }, run: 'run-2', currency: 'USD', calls: 3, refused: 0, loopRefused: 0, costNano: 3_000n, lastTs: T0 + 60 },
        ]);
      } finally {
        await f.close();
      }
    });

    it('judges each run whole and counts it in the period of its last call and the group of its first, in the currency it was priced in', async () => {
      const f = await open();
      try {
        const statuses = ['ok', 'ok', 'refused', 'cancelled', 'error', 'ok', 'ok'] as const;
        const lines: LedgerLine[] = [];
        for (let i = 0; i < 1400; i++) {
          const run = i % 11 === 0 ? null : `run-${i % 9}`;
          // Runs 0 and 1 are never refused (abandoned when idle or cancelled last); the others meet a refusal now and then.
          const status = run === 'run-0' || run === 'run-1' ? (i % 23 === 0 ? 'cancelled' : 'ok') : statuses[i % 7]!;
          // Run 0's last call is cancelled; run 4 ends on the first day; runs 5 and 6 are priced in two
          // currencies: run 5 in euros in one append, dollars in the other; run 6 in both in each.
          const cut = run === 'run-0' && i >= 1390 ? 'cancelled' : status;
          const at = run === 'run-4' ? Math.floor((i * DAY) / 1400) : Math.floor((i * 4 * DAY) / 1400) + (i % 5);
          const euro = (run === 'run-5' && Math.floor(i / 60) % 2 === 0) || (run === 'run-6' && i % 4 === 1);
          const l = line(`span-${i}`, { ts: T0 - 2 * DAY + at, model: i % 2 ? 'gpt-4o' : 'gpt-4o-mini', costNano: BigInt(100 + i), orgCostNano: BigInt(euro ? 2 * (100 + i) : 100 + i), status: cut, currency: euro ? 'EUR' : 'USD' });
          lines.push({ ...l, errorCode: cut === 'refused' && i % 3 === 0 ? 'agent_loop' : null, dims: { ...l.dims, workflow: `w${i % 3}`, user: i % 4 ? 'ann' : 'ben', agent_run: run } });
        }
        // In two appends whose lines interleave in time, so stored runs take earlier and later calls.
        await f.store.append(lines.filter((_, i) => Math.floor(i / 60) % 2 === 1));
        await f.store.append(lines.filter((_, i) => Math.floor(i / 60) % 2 === 0));
        const dims = { department: null, cost_centre: null, project: null, workflow: null, agent: null, user: null, application: null, environment: null, route: null, model: null, key: null };
        await f.store.recordOutcomes([{ id: 'run:run-1', ts: T0, accepted: true, unitsNano: 0n, unit: null, valueNano: null, currency: null, dims }]);
        type By = 'workflow' | 'model' | 'user';
        const runs = wholeRuns(lines);
        const inPeriod = (from: number, to: number) => runs.filter((r) => r.last >= from && r.last < to);
        const wantRuns = (from: number, to: number, by: By) => inPeriod(from, to)
          .map((r) => `${r.first.dims[by]} ${r.run} ${r.currency}: ${r.calls - r.refused}/${r.refused}/${r.loop} ${r.reported} ${r.last}`).sort();
        const gotRuns = async (from: number, to: number, by: By) => (await f.store.agentRuns({ from, to, groupBy: [by] }))
          .map((r) => `${r.group[by]} ${r.run} ${r.currency}: ${r.calls}/${r.refused}/${r.loopRefused} ${r.costNano} ${r.lastTs}`).sort();
        const wantVerdicts = (from: number, to: number, by: By, idleBefore: number) => {
          const out = new Map<string, { runs: number; cost: bigint }>();
          for (const r of inPeriod(from, to)) {
            const verdict = r.refused > 0 ? 'blocked' : r.run !== 'run-1' && r.orgCost > 0n && (r.last < idleBefore || r.cancelled === r.last) ? 'abandoned' : null;
            if (!verdict) continue;
            const k = `${r.first.dims[by]} ${r.currency} ${verdict}`;
            const t = out.get(k) ?? { runs: 0, cost: 0n };
            out.set(k, { runs: t.runs + 1, cost: t.cost + r.reported });
          }
          return [...out].map(([k, t]) => `${k}: ${t.runs} ${t.cost}`).sort();
        };
        const gotVerdicts = async (from: number, to: number, by: By, idleBefore: number) => (await f.store.runVerdicts({ from, to, groupBy: [by], idleBefore }))
          .map((v) => `${v.group[by]} ${v.currency} ${v.verdict}: ${v.runs} ${v.costNano}`).sort();
        expect(Math.max(...lines.map((l) => l.ts))).toBeLessThan(T0 + 2 * DAY - 100_000);
        for (const [from, to] of [[T0 - 2 * DAY, T0 + 2 * DAY], [T0 - 2 * DAY + 3_600_000, T0 + DAY + 7], [T0 - DAY, T0], [T0 - DAY + 5, T0 + DAY - 3_600_000], [T0 - 2 * DAY, T0 + 2 * DAY - 100_000], [T0 + 10, T0 + 20_000_000]] as const) {
          for (const by of ['workflow', 'model', 'user'] as const) {
            expect(await gotRuns(from, to, by)).toEqual(wantRuns(from, to, by));
            // Idle since long before, and idle only if the last call was before the range's middle.
            for (const idleBefore of [T0 + 10 * DAY, Math.floor((from + to) / 2)]) expect(await gotVerdicts(from, to, by, idleBefore)).toEqual(wantVerdicts(from, to, by, idleBefore));
          }
        }
        // Every kind of run is met: blocked, abandoned idle or cancelled, one with an outcome, one in two currencies (in the organisation's, USD), one in another period.
        expect((await gotVerdicts(T0 - 2 * DAY, T0 + 2 * DAY, 'workflow', T0 - 2 * DAY)).join()).toMatch(/blocked/);
        for (const run of ['run-5', 'run-6']) {
          const r = runs.find((x) => x.run === run)!;
          expect(r).toMatchObject({ currencies: new Set(['USD', 'EUR']), currency: 'USD', reported: r.orgCost });
          expect(r.orgCost).not.toBe(r.cost);
        }
        expect(runs.filter((r) => r.refused === 0 && r.cancelled === r.last).map((r) => r.run)).toEqual(['run-0']);
        expect(inPeriod(T0 - 2 * DAY, T0 - DAY).map((r) => r.run)).toEqual(['run-4']);
      } finally {
        await f.close();
      }
    });

    it('takes a run\'s first call by time, then by the least id, whatever order its calls are appended in', async () => {
      const f = await open();
      try {
        const call = (id: string, workflow: string, run: string) => {
          const l = line(id, { ts: T0 + 5 });
          return { ...l, dims: { ...l.dims, workflow, agent_run: run } };
        };
        // Two calls of each run in the same millisecond, appended apart, the later id first for one run and last for the other.
        await f.store.append([call('id-b', 'second', 'run-x'), call('id-a', 'first', 'run-y')]);
        await f.store.append([call('id-a2', 'first', 'run-x'), call('id-b2', 'second', 'run-y')]);
        const runs = await f.store.agentRuns({ from: T0, to: T0 + DAY, groupBy: ['workflow'] });
        expect(runs.map((r) => `${r.run} ${r.group.workflow} ${r.calls}`).sort()).toEqual(['run-x first 2', 'run-y first 2']);
        // Within one append too.
        await f.store.append([call('id-d', 'second', 'run-z'), call('id-c', 'first', 'run-z')]);
        expect((await f.store.agentRuns({ from: T0, to: T0 + DAY, groupBy: ['workflow'] })).find((r) => r.run === 'run-z')?.group.workflow).toBe('first');
      } finally {
        await f.close();
      }
    });

    it('groups a period by the first match that takes each line, and scans only the lines of chosen matches', async () => {
      const f = await open();
      try {
        await f.store.append([
          line('m1', { dept: 'marketing', orgCostNano: 100n, tags: { team: 'a' } }),
          line('m2', { dept: 'marketing', orgCostNano: 50n, source: 'import', endpoint: 'seat', tokens: { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 } }),
          line('s1', { dept: 'support', orgCostNano: 7n, model: 'gpt-4.1' }),
          line('g1', { dept: 'support', orgCostNano: 0n, source: 'import', endpoint: 'gpu_hours', quantityNano: 2_500_000_000n }),
          line('r1', { dept: 'support', orgCostNano: 0n, status: 'refused' }),
        ]);
        const matches = [{ source: 'import', kind: ['seat'] }, { tags: { team: 'a' } }, { dims: { model: ['gpt-4.1', 'x'] } }];
        const { groups, firstId, lastId } = await f.store.firstMatchGroups({ from: T0, to: T0 + DAY, matches });
        expect([firstId, lastId]).toEqual(['g1', 's1']);
        const by = (i: number, d: string) => groups.find((g) => g.index === i && g.department === d);
        expect(by(0, 'marketing')).toMatchObject({ lines: 1, costed: 1, orgCostNano: 50n, requests: 0 });
        expect(by(1, 'marketing')).toMatchObject({ lines: 1, orgCostNano: 100n, requests: 1, tokens: 165n, gatewayOrgCostNano: 100n });
        expect(by(2, 'support')).toMatchObject({ lines: 1, orgCostNano: 7n });
        // No match: the GPU import (its hours counted) and the refused call (not a request).
        expect(by(-1, 'support')).toMatchObject({ lines: 2, costed: 0, requests: 0, gpuNano: 2_500_000_000n });
        const kept: string[] = [];
        for await (const l of f.store.scan({ from: T0, to: T0 + DAY, firstMatch: { matches, keep: [1, 2] } })) kept.push(l.id);
        expect(kept.sort()).toEqual(['m1', 's1']);
      } finally {
        await f.close();
      }
    });

    it('groups the lines of the matches asked apart by what allocating one reads: cost, tokens, quantity', async () => {
      const f = await open();
      try {
        const seat = (id: string, cost: bigint, quantityNano: bigint | null) =>
          line(id, { orgCostNano: cost, source: 'import', endpoint: 'seat', quantityNano, tokens: { input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0 } });
        const tokens = (input: number) => ({ input, cached_input: 1, cache_write: 0, output: 10, reasoning: 0 });
        await f.store.append([
          // Match 0 (apart by cost and tokens): two lines alike, one of another cost, one of other tokens.
          line('a1', { orgCostNano: 70n, model: 'gpt-4.1', tokens: tokens(100) }), line('a2', { orgCostNano: 70n, model: 'gpt-4.1', tokens: tokens(100) }),
          line('a3', { orgCostNano: 71n, model: 'gpt-4.1', tokens: tokens(100) }), line('a4', { orgCostNano: 70n, model: 'gpt-4.1', tokens: tokens(200) }),
          // Match 1 (apart by cost and quantity): a quantity, and none.
          seat('q1', 30n, 2_000_000_000n), seat('q2', 30n, 2_000_000_000n), seat('q3', 30n, null),
          // Match 2 (not apart): one group whatever the costs.
          line('d1', { orgCostNano: 5n }), line('d2', { orgCostNano: 6n }),
        ]);
        const matches = [{ dims: { model: ['gpt-4.1'] } }, { kind: ['seat'] }, {}];
        const { groups, firstId, lastId } = await f.store.firstMatchGroups({ from: T0, to: T0 + DAY, matches, apart: { cost: [0, 1], tokens: [0], quantity: [1] } });
        const of = (i: number) => groups.filter((g) => g.index === i).map((g) => [g.lines, g.orgCostNano, g.lineCost, g.lineTokens, g.lineQuantity]).sort((a, b) => String(a).localeCompare(String(b)));
        expect(of(0)).toEqual([[1, 70n, 70n, 211n, null], [1, 71n, 71n, 111n, null], [2, 140n, 70n, 111n, null]]);
        expect(of(1)).toEqual([[1, 30n, 30n, null, null], [2, 60n, 30n, null, 2_000_000_000n]]);
        expect(of(2)).toEqual([[2, 11n, null, null, null]]);
        // The groups still add up to the period, with its first and last ids.
        expect(groups.reduce((a, g) => a + g.lines, 0)).toBe(9);
        expect([firstId, lastId]).toEqual(['a1', 'q3']);
        // More groups than the limit: the read says it is incomplete rather than fill memory.
        expect((await f.store.firstMatchGroups({ from: T0, to: T0 + DAY, matches, apart: { cost: [0, 1], tokens: [0], quantity: [1], limit: 6 } })).complete).toBe(true);
        expect(await f.store.firstMatchGroups({ from: T0, to: T0 + DAY, matches, apart: { cost: [0, 1], tokens: [0], quantity: [1], limit: 5 } })).toMatchObject({ complete: false, groups: [] });
        // A period without lines: no groups, no ids.
        expect(await f.store.firstMatchGroups({ from: T0 + DAY, to: T0 + 2 * DAY, matches })).toEqual({ groups: [], complete: true, firstId: null, lastId: null });
      } finally {
        await f.close();
      }
    });

    it('scans a period in time order, page after page', async () => {
      const f = await open();
      try {
        const n = 12_345;
        const lines = Array.from({ length: n }, (_, i) => line(`s-${String(i).padStart(6, '0')}`, { ts: T0 + Math.floor(i / 3) }));
        for (let i = 0; i < n; i += 4000) await f.store.append(lines.slice(i, i + 4000));
        await f.store.append([line('outside', { ts: T0 + 10 * DAY })]);
        let count = 0;
        let last = -1;
        for await (const l of f.store.scan({ from: T0, to: T0 + DAY })) {
          expect(l.ts).toBeGreaterThanOrEqual(last);
          last = l.ts;
          count++;
        }
        expect(count).toBe(n);
      } finally {
        await f.close();
      }
    });
  });
}
