import type { RunLimits, RunTracker, RunVerdict } from '../core/ports.js';

/**
 * Controls on agent runs (calls carrying x-bursar-agent-run): how many calls and tool calls a
 * run may make, how long it may last, and a loop guard that stops a run sending the same request
 * over and over. State is per run and lives in memory for an hour after the run's last call
 * (one node; replicas share runs through Redis instead).
 */
interface Run {
  calls: number;
  toolCalls: number;
  readonly startedAt: number;
  lastAt: number;
  readonly requests: Map<string, number>;
}

const IDLE_MS = 3_600_000;

export class MemoryRunTracker implements RunTracker {
  private readonly runs = new Map<string, Run>();
  private sweptAt = 0;

  /** Checks a new call of a run against its limits, and counts it if it may go. */
  async admit(key: string, limits: RunLimits, requestHash: string, now: number): Promise<RunVerdict> {
    this.sweep(now);
    let run = this.runs.get(key);
    if (!run) this.runs.set(key, (run = { calls: 0, toolCalls: 0, startedAt: now, lastAt: now, requests: new Map() }));
    if (limits.maxCalls !== null && run.calls >= limits.maxCalls) return { ok: false, rule: 'max_calls', detail: `it has made ${run.calls} calls, the most it may` };
    if (limits.maxToolCalls !== null && run.toolCalls >= limits.maxToolCalls) return { ok: false, rule: 'max_tool_calls', detail: `its calls have used ${run.toolCalls} tool calls, the most it may` };
    if (limits.maxSeconds !== null && now - run.startedAt > limits.maxSeconds * 1000) {
      return { ok: false, rule: 'max_seconds', detail: `it started ${Math.round((now - run.startedAt) / 1000)} s ago; a run may last ${limits.maxSeconds} s` };
    }
    const seen = run.requests.get(requestHash) ?? 0;
    if (limits.loopRepeats !== null && seen + 1 >= limits.loopRepeats) {
      return { ok: false, rule: 'loop', detail: `it sent the same request ${seen + 1} times; the loop guard stops at ${limits.loopRepeats}` };
    }
    run.calls++;
    run.lastAt = now;
    run.requests.set(requestHash, seen + 1);
    return { ok: true };
  }

  async addToolCalls(key: string, n: number): Promise<void> {
    const run = this.runs.get(key);
    if (run) run.toolCalls += n;
  }

  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [k, r] of this.runs) if (now - r.lastAt > IDLE_MS) this.runs.delete(k);
  }
}
