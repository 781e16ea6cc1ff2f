/**
 * Attribution per request: the documented headers land in the ledger; a key's required
 * metadata is enforced; a platform key may act for another department or user only when its
 * policy allows; suspending a key, a workflow or an agent stops only that traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;

beforeAll(async () => {
  t = await startTestBursar();
});
afterAll(() => t.close());

const ask = (secret: string, headers: Record<string, string> = {}) =>
  t.openai(secret, headers).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }], max_tokens: 5 }).withResponse();

describe('attribution headers', () => {
  it('records workflow, agent, run, user group, end user and tags', async () => {
    const { secret } = await t.key({ project: 'campaign-ai', tags: { channel: 'web' } });
    const { response } = await ask(secret, {
      'x-bursar-workflow': 'campaign-drafting', 'x-bursar-agent': 'copy-agent', 'x-bursar-agent-run': 'run-42',
      'x-bursar-user-group': 'power-users', 'x-bursar-user': 'alice', 'x-bursar-tags': 'ticket=T-1;priority=high',
    });
    const line = await t.line(response.headers.get('x-request-id')!);
    expect(line!.dims).toMatchObject({ workflow: 'campaign-drafting', agent: 'copy-agent', agent_run: 'run-42', user_group: 'power-users', user: 'alice', department: 'marketing', project: 'campaign-ai' });
    expect(line!.tags).toEqual({ channel: 'web', ticket: 'T-1', priority: 'high' });
  });

  it('refuses bad header values and malformed tags with a clear error', async () => {
    const { secret } = await t.key({ department: 'marketing' });
    await expect(ask(secret, { 'x-bursar-workflow': 'bad value!' })).rejects.toMatchObject({ status: 400, code: 'invalid_metadata' });
    await expect(ask(secret, { 'x-bursar-tags': 'no-equals-sign' })).rejects.toMatchObject({ status: 400, code: 'invalid_metadata' });
    await expect(ask(secret, { 'x-bursar-user': 'nobody' })).rejects.toMatchObject({ code: 'invalid_metadata' });
  });

  it('enforces the metadata a key requires', async () => {
    const { secret } = await t.key({ department: 'support', required_metadata: ['workflow', 'agent_run'] });
    const err = await ask(secret, { 'x-bursar-workflow': 'triage' }).catch((e) => e);
    expect(err).toMatchObject({ status: 400, code: 'missing_metadata' });
    expect(err.message).toContain('x-bursar-agent-run');
    expect(err.headers.get('x-should-retry')).toBe('false');
    await ask(secret, { 'x-bursar-workflow': 'triage', 'x-bursar-agent-run': 'r1' });
  });
});

describe('acting for another team', () => {
  it('lets a platform key attribute a call to the department or user it serves, when allowed', async () => {
    const platform = await t.key({ project: 'ai-platform', act_for: { departments: ['support'], users: ['alice'] } });
    const viaDept = await ask(platform.secret, { 'x-bursar-department': 'support' });
    expect((await t.line(viaDept.response.headers.get('x-request-id')!))!.dims).toMatchObject({ department: 'support', cost_centre: 'SUPP', project: null });
    const viaUser = await ask(platform.secret, { 'x-bursar-user': 'alice' });
    expect((await t.line(viaUser.response.headers.get('x-request-id')!))!.dims).toMatchObject({ department: 'marketing', user: 'alice', team: 'growth', cost_centre: 'MKTG' });
    await expect(ask(platform.secret, { 'x-bursar-department': 'finance' })).rejects.toMatchObject({ status: 403, code: 'act_for_not_allowed' });
    // bob is in support, a department the key may act for; carol (finance) is not.
    expect((await t.line((await ask(platform.secret, { 'x-bursar-user': 'bob' })).response.headers.get('x-request-id')!))!.dims.department).toBe('support');
    await expect(ask(platform.secret, { 'x-bursar-user': 'carol' })).rejects.toMatchObject({ status: 403, code: 'act_for_not_allowed' });
  });

  it('refuses act-for on a key whose policy does not allow it; same-department users are fine', async () => {
    const plain = await t.key({ department: 'marketing' });
    await expect(ask(plain.secret, { 'x-bursar-department': 'support' })).rejects.toMatchObject({ code: 'act_for_not_allowed' });
    const same = await ask(plain.secret, { 'x-bursar-user': 'alice' });
    expect((await t.line(same.response.headers.get('x-request-id')!))!.dims.user).toBe('alice');
  });
});

describe('suspensions', () => {
  it('stops a key, a workflow or an agent at once, and only that traffic', async () => {
    const a = await t.key({ department: 'support' });
    const b = await t.key({ department: 'support' });
    expect((await t.admin('POST', `/keys/${a.id}/suspend`, { reason: 'runaway' })).status).toBe(200);
    await expect(ask(a.secret)).rejects.toMatchObject({ status: 403, code: 'key_suspended' });
    await ask(b.secret);
    await t.admin('POST', `/keys/${a.id}/resume`, {});
    await ask(a.secret);

    expect((await t.admin('POST', '/suspensions/workflow/bulk-rewrite', { reason: 'cost spike' })).status).toBe(201);
    await expect(ask(b.secret, { 'x-bursar-workflow': 'bulk-rewrite' })).rejects.toMatchObject({ status: 403, code: 'workflow_suspended' });
    await ask(b.secret, { 'x-bursar-workflow': 'other-workflow' });
    await t.admin('POST', '/suspensions/agent/looping-agent', {});
    await expect(ask(b.secret, { 'x-bursar-agent': 'looping-agent' })).rejects.toMatchObject({ code: 'agent_suspended' });
    expect((await t.admin('DELETE', '/suspensions/workflow/bulk-rewrite', {})).status).toBe(204);
    await ask(b.secret, { 'x-bursar-workflow': 'bulk-rewrite' });
  });
});

describe('tags sent again and again', () => {
  let g: TestBursar;
  beforeAll(async () => {
    g = await startTestBursar({ yaml: `${ORG_YAML}\ngateway: { allowed_tags: [ticket, channel] }\n` });
  });
  afterAll(() => g.close());
  const call = (secret: string, tags: string) =>
    g.openai(secret, { 'x-bursar-tags': tags }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }).withResponse();

  it('are parsed once and shared, each call keeping its own key tags, and checked against the allowed list every time', async () => {
    const withOwn = await g.key({ project: 'campaign-ai', tags: { channel: 'web' } });
    const without = await g.key({ project: 'campaign-ai' });
    for (let i = 0; i < 2; i++) {
      const a = await call(withOwn.secret, 'ticket=T-7');
      const b = await call(without.secret, 'ticket=T-7');
      expect((await g.line(a.response.headers.get('x-request-id')!))!.tags).toEqual({ channel: 'web', ticket: 'T-7' });
      expect((await g.line(b.response.headers.get('x-request-id')!))!.tags).toEqual({ ticket: 'T-7' });
      await expect(call(without.secret, 'ticket=T-7;team=ops')).rejects.toMatchObject({ status: 400, code: 'invalid_metadata', message: expect.stringContaining('Tag "team" is not allowed here') });
    }
  });
});
