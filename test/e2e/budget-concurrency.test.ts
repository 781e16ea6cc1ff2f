/**
 * Hard caps hold under concurrency: 450 calls at once (streaming and not, through both SDKs'
 * wire shapes) against small hard caps at four levels (company, department, project, per user).
 * The overshoot is exactly zero, and each budget that refused calls admitted what its cap allows
 * within the estimate's slack: between floor(limit / worst case) and floor(limit / actual cost).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { chargePairs } from '../helpers/counters.js';

const YAML = `${ORG_YAML}
budget_policy: { min_output_tokens: 4 }
budgets:
  - { id: company, name: Company, window: month, limit: { amount: "0.006", currency: USD }, owner: carol }
  - { id: marketing, name: Marketing, scope: { department: marketing }, window: month, limit: { amount: "0.003", currency: USD } }
  - { id: campaign, name: Campaign AI, scope: { project: campaign-ai }, window: day, limit: { amount: "0.002", currency: USD } }
  - { id: marketing-per-user, name: Marketing per user, scope: { department: marketing }, per: user, window: week, limit: { amount: "0.001", currency: USD } }
`;

let t: TestBursar;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML, sim: { eventDelayMs: 2 } });
});
afterAll(() => t.close());

const LIMITS: Record<string, bigint> = { company: 6_000_000n, marketing: 3_000_000n, campaign: 2_000_000n, 'marketing-per-user': 1_000_000n };
const messages = [{ role: 'user' as const, content: 'Summarise ticket T-1 in one line please.' }];

describe('hard caps under concurrency', () => {
  it('never overshoot, and admit what the caps allow within the slack', async () => {
    const alice = await t.key({ project: 'campaign-ai', user: 'alice' });
    const team = await t.key({ project: 'campaign-ai' });
    const support = await t.key({ project: 'support-bot' });
    const refusals = new Map<string, number>();
    const call = async (secret: string, i: number): Promise<'ok' | 'refused'> => {
      const client = t.openai(secret);
      try {
        if (i % 2 === 0) {
          await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 8 });
        } else {
          const s = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 8, stream: true });
          for await (const _ of s) { /* drain */ }
        }
        return 'ok';
      } catch (e) {
        const err = e as { status?: number; code?: string; error?: { details?: { budget?: string } }; headers?: Headers };
        expect(err.status).toBe(429);
        expect(err.code).toBe('budget_exceeded');
        expect(err.headers?.get('x-should-retry')).toBe('false');
        const b = err.error?.details?.budget ?? '?';
        refusals.set(b, (refusals.get(b) ?? 0) + 1);
        return 'refused';
      }
    };
    const results = await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => call(alice.secret, i)),
      ...Array.from({ length: 150 }, (_, i) => call(team.secret, i)),
      ...Array.from({ length: 150 }, (_, i) => call(support.secret, i)),
    ]);
    const admitted = results.filter((r) => r === 'ok').length;
    expect(admitted).toBeGreaterThan(0);
    expect(results.length - admitted).toBeGreaterThan(0);

    const lines = (await t.lines()).filter((l) => l.status === 'ok');
    expect(lines).toHaveLength(admitted);
    // Calls send the same prompt with max_tokens 8; near a cap Bursar lowers the cap (to no less
    // than min_output_tokens), so actual costs range from 4 to 8 output tokens' worth.
    const costs = lines.map((l) => l.costNano);
    const actual = costs.reduce((a, b) => (b < a ? b : a));
    const worst = worstOf();
    expect(costs.every((c) => c <= worst)).toBe(true);
    expect(lines.filter((l) => l.tokens.output < 8).length).toBeGreaterThan(0);

    for (const [id, limit] of Object.entries(LIMITS)) {
      const charged = lines.flatMap((l) => chargePairs(l.budgetCharges).filter((c) => c.key.startsWith(`${id}|`)));
      const used = charged.reduce((a, c) => a + c.nano, 0n);
      expect(used <= limit, `${id}: ${used} of ${limit}`).toBe(true); // the overshoot is exactly 0
      const status = (await t.admin<{ members: { used: { amount: string } | null; reserved: { amount: string } }[] }>('GET', `/budgets/${id}`)).body;
      const counted = status.members.reduce((a, m) => a + BigInt(Math.round(Number(m.used?.amount ?? 0) * 1e9)), 0n);
      expect(counted).toBe(used);
      expect(status.members.every((m) => m.reserved.amount === '0')).toBe(true);
      if (refusals.has(id)) {
        const n = BigInt(charged.length);
        // Admitted at least what worst cases allow, at most what actual costs allow.
        expect(n >= limit / worst - 1n, `${id}: ${n} admitted, worst ${worst}`).toBe(true);
        expect(n <= limit / actual, `${id}: ${n} admitted, actual ${actual}`).toBe(true);
      }
    }
    expect(refusals.size).toBeGreaterThan(0);
  });
});

/** The largest worst case these calls reserve: every byte of the larger (streaming) request as an input token, and 8 output tokens. */
function worstOf(): bigint {
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages, max_tokens: 8, stream: true });
  // gpt-4o-mini: $0.15 input and $0.60 output per million tokens; a worst case rounds up.
  return (BigInt(Buffer.byteLength(body)) * 150_000_000n + 8n * 600_000_000n + 999_999n) / 1_000_000n;
}
