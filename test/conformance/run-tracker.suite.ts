/**
 * The RunTracker conformance suite: the in-process and the Redis agent-run trackers run these
 * same tests, ending with a property test that holds each adapter to the in-process one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryRunTracker } from '../../src/budgets/agent-runs.js';
import type { RunLimits, RunTracker } from '../../src/core/ports.js';

export interface RunsFixture {
  readonly runs: RunTracker;
  close(): Promise<void>;
}

export interface RunsSuiteOptions {
  readonly propertyRuns?: number;
}

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const limits = (l: Partial<RunLimits>): RunLimits => ({ maxCalls: null, maxToolCalls: null, maxSeconds: null, loopRepeats: null, ...l });

export function runTrackerSuite(name: string, open: () => Promise<RunsFixture>, opts: RunsSuiteOptions = {}): void {
  describe(`RunTracker conformance: ${name}`, () => {
    it('stops a run at its most calls, and keeps runs apart', async () => {
      const f = await open();
      try {
        const l = limits({ maxCalls: 2 });
        expect(await f.runs.admit('r1', l, 'h1', T0)).toEqual({ ok: true });
        expect(await f.runs.admit('r1', l, 'h2', T0 + 1)).toEqual({ ok: true });
        expect(await f.runs.admit('r1', l, 'h3', T0 + 2)).toEqual({ ok: false, rule: 'max_calls', detail: 'it has made 2 calls, the most it may' });
        expect(await f.runs.admit('r2', l, 'h1', T0 + 3)).toEqual({ ok: true });
      } finally {
        await f.close();
      }
    });

    it('stops a run whose calls used its most tool calls; tool calls of an unknown run count nowhere', async () => {
      const f = await open();
      try {
        const l = limits({ maxToolCalls: 3 });
        await f.runs.addToolCalls('ghost', 5, T0);
        expect(await f.runs.admit('ghost', l, 'h', T0)).toEqual({ ok: true });
        await f.runs.addToolCalls('ghost', 2, T0 + 1);
        expect(await f.runs.admit('ghost', l, 'h2', T0 + 2)).toEqual({ ok: true });
        await f.runs.addToolCalls('ghost', 1, T0 + 3);
        expect(await f.runs.admit('ghost', l, 'h3', T0 + 4)).toEqual({ ok: false, rule: 'max_tool_calls', detail: 'its calls have used 3 tool calls, the most it may' });
      } finally {
        await f.close();
      }
    });

    it('stops a run that lasts longer than it may', async () => {
      const f = await open();
      try {
        const l = limits({ maxSeconds: 10 });
        expect(await f.runs.admit('r', l, 'h1', T0)).toEqual({ ok: true });
        expect(await f.runs.admit('r', l, 'h2', T0 + 10_000)).toEqual({ ok: true });
        expect(await f.runs.admit('r', l, 'h3', T0 + 10_001)).toEqual({ ok: false, rule: 'max_seconds', detail: 'it started 10 s ago; a run may last 10 s' });
      } finally {
        await f.close();
      }
    });

    it('stops a run that sends the same request over and over', async () => {
      const f = await open();
      try {
        const l = limits({ loopRepeats: 3 });
        expect(await f.runs.admit('r', l, 'same', T0)).toEqual({ ok: true });
        expect(await f.runs.admit('r', l, 'same', T0 + 1)).toEqual({ ok: true });
        expect(await f.runs.admit('r', l, 'same', T0 + 2)).toEqual({ ok: false, rule: 'loop', detail: 'it sent the same request 3 times; the loop guard stops at 3' });
        expect(await f.runs.admit('r', l, 'other', T0 + 3)).toEqual({ ok: true });
      } finally {
        await f.close();
      }
    });

    it('starts a run afresh after an hour without calls', async () => {
      const f = await open();
      try {
        const l = limits({ maxCalls: 1 });
        expect(await f.runs.admit('r', l, 'h', T0)).toEqual({ ok: true });
        expect(await f.runs.admit('r', l, 'h', T0 + HOUR)).toMatchObject({ ok: false, rule: 'max_calls' });
        expect(await f.runs.admit('r', l, 'h', T0 + 2 * HOUR)).toEqual({ ok: true });
      } finally {
        await f.close();
      }
    });

    it('answers as the in-process tracker does, over random sequences (property)', async () => {
      type Op = { t: 'admit'; run: number; hash: number; limits: RunLimits } | { t: 'tools'; run: number; n: number } | { t: 'wait'; minutes: number };
      const limit = (min: number, max: number) => fc.option(fc.integer({ min, max }), { nil: null });
      const runLimits = fc.record({ maxCalls: limit(1, 8), maxToolCalls: limit(1, 8), maxSeconds: limit(60, 3_000), loopRepeats: limit(2, 4) });
      const op: fc.Arbitrary<Op> = fc.oneof(
        { arbitrary: fc.record({ t: fc.constant('admit' as const), run: fc.integer({ min: 0, max: 2 }), hash: fc.integer({ min: 0, max: 3 }), limits: runLimits }), weight: 5 },
        { arbitrary: fc.record({ t: fc.constant('tools' as const), run: fc.integer({ min: 0, max: 2 }), n: fc.integer({ min: 0, max: 3 }) }), weight: 2 },
        // Whole minutes: the in-process tracker sweeps idle runs once a minute at most.
        { arbitrary: fc.record({ t: fc.constant('wait' as const), minutes: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.integer({ min: 50, max: 90 })) }), weight: 2 },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          const f = await open();
          try {
            const model = new MemoryRunTracker();
            let now = T0;
            for (const o of ops) {
              if (o.t === 'wait') now += o.minutes * 60_000;
              else if (o.t === 'tools') {
                await f.runs.addToolCalls(`r${o.run}`, o.n, now);
                await model.addToolCalls(`r${o.run}`, o.n);
              } else {
                expect(await f.runs.admit(`r${o.run}`, o.limits, `h${o.hash}`, now)).toEqual(await model.admit(`r${o.run}`, o.limits, `h${o.hash}`, now));
              }
            }
          } finally {
            await f.close();
          }
        }),
        { numRuns: opts.propertyRuns ?? 100 },
      );
    });
  });
}
