/**
 * The monthly review record: decisions created, listed and updated through the admin API, each
 * write audited, each read and write cut to the role (finance and admins all, a manager their
 * department, a member the decisions they own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';

type Decision = { id: string; month: string; kind: string; decision: string; owner: string; department: string | null; expected_effect: string; next_review: string; notes: string; status: string; recorded_by: string };

let t: TestBursar;
const tokens: Record<string, string> = {};
beforeAll(async () => {
  t = await startTestBursar();
  for (const [label, body] of Object.entries({
    fin: { role: 'finance' }, mkt: { role: 'manager', department: 'marketing' }, sup: { role: 'manager', department: 'support' }, bob: { role: 'member', user: 'bob' }, alice: { role: 'member', user: 'alice' },
  })) tokens[label] = (await t.admin<{ secret: string }>('POST', '/tokens', { label, ...body })).body.secret;
});
afterAll(() => t.close());

const decision = (over: Record<string, unknown> = {}) => ({
  month: '2026-10', kind: 'routing', decision: 'Send support drafting to the economy tier', owner: 'bob', department: 'support',
  expected_effect: '-30% on support drafting spend', next_review: '2026-11-15', ...over,
});

describe('review decisions', () => {
  it('are created, listed, and updated in part, each write audited', async () => {
    const made = await t.admin<Decision>('POST', '/reviews', decision({ notes: 'pilot first' }), tokens.fin);
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ kind: 'routing', owner: 'bob', status: 'open', recorded_by: 'fin', notes: 'pilot first' });
    expect(made.body.id).toMatch(/^dec_/);
    await t.admin('POST', '/reviews', decision({ month: '2026-11', kind: 'tool_retirement', decision: 'Retire the old summariser', owner: 'alice', department: 'marketing', next_review: '2099-01-01' }), tokens.fin);

    const upd = await t.admin<Decision>('PATCH', `/reviews/${made.body.id}`, { status: 'done', notes: 'saved 28%' }, tokens.sup);
    expect(upd.body).toMatchObject({ status: 'done', notes: 'saved 28%', kind: 'routing', next_review: '2026-11-15', recorded_by: 'fin' });
    expect((await t.admin<{ data: Decision[] }>('GET', '/reviews?month=2026-10')).body.data.map((d) => d.status)).toEqual(['done']);
    expect((await t.admin<{ data: Decision[] }>('GET', '/reviews?due=true')).body.data).toEqual([]); // done, and the other is not due

    const audit = (await t.admin<{ data: { action: string; actor: string; details: { before?: Decision; after?: Decision } }[] }>('GET', `/audit?target=review_decision:${made.body.id}`)).body.data;
    expect(audit.map((a) => [a.action, a.actor])).toEqual([['review_decision.create', 'fin'], ['review_decision.update', 'sup']]);
    expect([audit[1]!.details.before!.status, audit[1]!.details.after!.status]).toEqual(['open', 'done']);
  });

  it('are cut to the role: a manager their department, a member their own', async () => {
    const kinds = async (token: string) => (await t.admin<{ data: Decision[] }>('GET', '/reviews', undefined, token)).body.data.map((d) => d.kind).sort();
    expect(await kinds(tokens.fin!)).toEqual(['routing', 'tool_retirement']);
    expect(await kinds(tokens.mkt!)).toEqual(['tool_retirement']);
    expect(await kinds(tokens.bob!)).toEqual(['routing']);
    const theirs = (await t.admin<{ data: Decision[] }>('GET', '/reviews', undefined, tokens.sup)).body.data[0]!;
    expect((await t.admin('GET', `/reviews/${theirs.id}`, undefined, tokens.mkt)).status).toBe(404);
    expect((await t.admin('PATCH', `/reviews/${theirs.id}`, { notes: 'x' }, tokens.mkt)).status).toBe(404);
    // A manager records decisions of their own department only; a member reads, and does not write.
    const other = await t.admin<{ error: { message: string } }>('POST', '/reviews', decision(), tokens.mkt);
    expect(other.status).toBe(403);
    expect(other.body.error.message).toContain('records decisions of that department only');
    const own = await t.admin<Decision>('POST', '/reviews', decision({ owner: 'alice', department: undefined, kind: 'budget' }), tokens.mkt);
    expect(own.body.department).toBe('marketing');
    expect((await t.admin('PATCH', `/reviews/${theirs.id}`, { notes: 'x' }, tokens.bob)).status).toBe(403);
    expect((await t.admin('POST', '/reviews', decision(), tokens.alice)).status).toBe(403);
  });

  it('say what is wrong with bad input', async () => {
    const bad = async (over: Record<string, unknown>) => (await t.admin<{ error: { param: string; message: string } }>('POST', '/reviews', decision(over))).body.error;
    expect(await bad({ kind: 'vibes' })).toMatchObject({ param: 'kind' });
    expect(await bad({ owner: 'zed' })).toEqual(expect.objectContaining({ param: 'owner', message: 'owner: "zed" is not a user in bursar.yaml.' }));
    expect(await bad({ next_review: '15/11/2026' })).toEqual(expect.objectContaining({ param: 'next_review', message: 'next_review: must be a date, YYYY-MM-DD' }));
    expect(await bad({ month: '2026-13' })).toMatchObject({ param: 'month' });
    expect(await bad({ expected_effect: '' })).toMatchObject({ param: 'expected_effect' });
  });
});
