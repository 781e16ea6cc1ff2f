/**
 * The admin API: keys (create, rotate, revoke, expiry), admin tokens and roles (a manager
 * cannot see or touch another department), usage reports (JSON, CSV), the tamper-evident
 * audit log, /metrics and logs without secrets.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;

beforeAll(async () => {
  t = await startTestBursar({ yaml: `${ORG_YAML}\ngateway: { log_calls: true }\n`, env: { BURSAR_LOG_LEVEL: 'info' } });
});
afterAll(() => t.close());

const ask = (secret: string, headers: Record<string, string> = {}) =>
  t.openai(secret, headers).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });

describe('keys', () => {
  it('shows a secret once, stores only its hash, and lists keys without it', async () => {
    const created = await t.admin<{ id: string; secret: string; prefix: string; attribution: Record<string, unknown> }>('POST', '/keys', { label: 'copy-bot', project: 'campaign-ai', application: 'copy', environment: 'production' });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^bsk_/);
    expect(created.body.attribution).toMatchObject({ department: 'marketing', team: 'growth', project: 'campaign-ai' });
    const listed = await t.admin<{ data: Record<string, unknown>[] }>('GET', '/keys');
    const text = JSON.stringify(listed.body);
    expect(text).toContain(created.body.prefix);
    expect(text).not.toContain(created.body.secret);
    expect(text).not.toMatch(/"hash"/);
    const rows = await t.b.stores.config.list('key');
    expect(JSON.stringify(rows)).not.toContain(created.body.secret);
  });

  it('validates attribution against the org tree', async () => {
    const bad = await t.admin<{ error: { code: string; message: string; param: string } }>('POST', '/keys', { label: 'x', project: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation_failed', param: 'project' });
    const clash = await t.admin<{ error: { message: string } }>('POST', '/keys', { label: 'y', department: 'support', project: 'campaign-ai' });
    expect(clash.body.error.message).toMatch(/belongs to department "marketing"/);
    const dup = await t.admin<{ error: { code: string } }>('POST', '/keys', { label: 'copy-bot' });
    expect(dup.body.error.code).toBe('conflict');
  });

  it('rotates: the new secret works at once, the old one only through its grace period', async () => {
    const k = await t.key({ department: 'support' });
    const r1 = await t.admin<{ secret: string }>('POST', `/keys/${k.id}/rotate`, { grace_seconds: 0 });
    await expect(ask(k.secret)).rejects.toMatchObject({ status: 401 });
    await ask(r1.body.secret);
    const r2 = await t.admin<{ secret: string }>('POST', `/keys/${k.id}/rotate`, { grace_seconds: 3600 });
    await ask(r1.body.secret);
    await ask(r2.body.secret);
  });
});

describe('roles', () => {
  let managerToken: string;
  let memberToken: string;
  let supportKey: string;

  beforeAll(async () => {
    managerToken = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'alice-manager', role: 'manager', department: 'marketing' })).body.secret;
    memberToken = (await t.admin<{ secret: string }>('POST', '/tokens', { label: 'bob', role: 'member', user: 'bob' })).body.secret;
    const s = await t.key({ label: 'support-key', department: 'support', user: 'bob' });
    supportKey = s.id;
    await ask(s.secret);
    await ask((await t.key({ department: 'marketing', user: 'alice' })).secret);
    await t.b.writer.flush();
  });

  it('a manager sees and changes only their department\'s keys', async () => {
    const list = await t.admin<{ data: { attribution: { department: string } }[] }>('GET', '/keys', undefined, managerToken);
    expect(list.body.data.length).toBeGreaterThan(0);
    expect(list.body.data.every((k) => k.attribution.department === 'marketing')).toBe(true);
    expect((await t.admin('GET', `/keys/${supportKey}`, undefined, managerToken)).status).toBe(404);
    expect((await t.admin('POST', `/keys/${supportKey}/revoke`, {}, managerToken)).status).toBe(404);
    const create = await t.admin<{ error: { code: string } }>('POST', '/keys', { label: 'm1', department: 'support' }, managerToken);
    expect(create.status).toBe(403);
    expect(create.body.error.code).toBe('forbidden');
    expect((await t.admin('POST', '/keys', { label: 'm2', department: 'marketing' }, managerToken)).status).toBe(201);
  });

  it('a manager\'s usage report covers only their department, whatever they ask for', async () => {
    const r = await t.admin<{ rows: { group: { department: string } }[] }>('GET', '/usage?group_by=department', undefined, managerToken);
    expect(r.body.rows.map((x) => x.group.department)).toEqual(['marketing']);
    const sneaky = await t.admin<{ rows: unknown[] }>('GET', '/usage?group_by=department&department=support', undefined, managerToken);
    expect(sneaky.body.rows).toEqual([]);
  });

  it('a member sees only their own usage; only admins issue tokens', async () => {
    const r = await t.admin<{ rows: { group: { user: string } }[] }>('GET', '/usage?group_by=user', undefined, memberToken);
    expect(r.body.rows.map((x) => x.group.user)).toEqual(['bob']);
    expect((await t.admin('POST', '/tokens', { label: 'x', role: 'admin' }, managerToken)).status).toBe(403);
    expect((await t.admin('GET', '/audit', undefined, memberToken)).status).toBe(403);
  });

  it('refuses calls without a valid admin token', async () => {
    expect((await t.admin('GET', '/keys', undefined, 'bat_wrong')).status).toBe(401);
    expect((await fetch(`${t.url}/admin/v1/keys`)).status).toBe(401);
    const revoked = await t.admin<{ id: string; secret: string }>('POST', '/tokens', { label: 'temp', role: 'finance' });
    expect((await t.admin('GET', '/keys', undefined, revoked.body.secret)).status).toBe(200);
    await t.admin('POST', `/tokens/${revoked.body.id}/revoke`, {});
    expect((await t.admin('GET', '/keys', undefined, revoked.body.secret)).status).toBe(401);
  });
});

describe('usage reports', () => {
  it('groups by any dimension, as JSON and as spreadsheet-safe CSV', async () => {
    const k = await t.key({ department: 'support' });
    await ask(k.secret, { 'x-bursar-workflow': 'triage', 'x-bursar-tags': 'ticket=@SUM(A1)' });
    await t.b.writer.flush();
    const r = await t.admin<{ rows: { group: Record<string, string>; cost: string; requests: number }[]; totals: { currency: string }[] }>('GET', '/usage?group_by=department,workflow,tag:ticket&department=support');
    const row = r.body.rows.find((x) => x.group.workflow === 'triage')!;
    expect(row.group['tag:ticket']).toBe('@SUM(A1)');
    expect(row.requests).toBe(1);
    expect(Number(row.cost)).toBeGreaterThan(0);
    const csv = await fetch(`${t.url}/admin/v1/usage?group_by=workflow,tag:ticket&department=support&format=csv`, { headers: { authorization: `Bearer ${t.adminToken}` } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const text = await csv.text();
    expect(text.split('\n')[0]).toBe('workflow,tag:ticket,currency,requests,input_tokens,cached_input_tokens,cache_write_tokens,output_tokens,reasoning_tokens,cost,cost_nano,estimated_lines');
    expect(text).toContain("'@SUM(A1)");
    expect((await t.admin<{ error: { code: string } }>('GET', '/usage?group_by=colour')).body.error.code).toBe('validation_failed');
  });
});

describe('audit log', () => {
  it('records key events in a hash chain that detects tampering', async () => {
    const k = await t.key({ department: 'support' });
    await t.admin('POST', `/keys/${k.id}/revoke`, { reason: 'test' });
    const entries = await t.admin<{ data: { action: string; target: string; actor: string }[] }>('GET', `/audit?target=key:${k.id}`);
    expect(entries.body.data.map((e) => e.action)).toEqual(['key.create', 'key.revoke']);
    expect(entries.body.data[0]!.actor).toBe('first-admin');
    expect((await t.admin<{ ok: boolean }>('GET', '/audit/verify')).body.ok).toBe(true);

    const db = t.b.stores.db;
    await expect(sql`update audit_log set actor = 'mallory' where seq = 2`.execute(db)).rejects.toThrow(/append-only/);
    await expect(sql`delete from ledger_rows`.execute(db)).rejects.toThrow(/append-only/);
    // Someone with the database file drops the guard and edits history: the chain shows it.
    await sql`drop trigger audit_log_no_update`.execute(db);
    await sql`update audit_log set actor = 'mallory' where seq = 2`.execute(db);
    const v = await t.admin<{ ok: boolean; brokenAt: number }>('GET', '/audit/verify');
    expect(v.body).toMatchObject({ ok: false, brokenAt: 2 });
  });
});

describe('metrics and logs', () => {
  it('exposes Prometheus metrics by provider, model, department and status', async () => {
    await ask((await t.key({ department: 'finance' })).secret);
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/bursar_requests_total\{endpoint="chat",provider="openai",model="gpt-4o-mini",department="finance",status="ok"\} \d+/);
    expect(text).toMatch(/bursar_tokens_total\{provider="openai",model="gpt-4o-mini",department="finance",kind="output"\} \d+/);
    expect(text).toMatch(/bursar_cost_nanos_total\{.*department="finance",currency="USD"\} \d+/);
    expect(text).toContain('bursar_request_duration_seconds_bucket');
  });

  it('logs one JSON line per call, without keys, tokens or prompt text', async () => {
    const k = await t.key({ department: 'finance' });
    await t.openai(k.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'SECRET-PROMPT-TEXT' }], max_tokens: 5 });
    t.b.log.flush();
    await new Promise((r) => setTimeout(r, 50));
    const all = t.logs.join('');
    const calls = all.split('\n').filter((l) => l.includes('"msg":"call"'));
    expect(calls.length).toBeGreaterThan(0);
    expect(JSON.parse(calls.at(-1)!)).toMatchObject({ department: 'finance', model: 'gpt-4o-mini', status: 'ok' });
    expect(all).not.toContain('SECRET-PROMPT-TEXT');
    expect(all).not.toContain(k.secret);
    expect(all).not.toContain(t.adminToken);
  });
});
