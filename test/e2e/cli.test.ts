/**
 * The bursar command as people use it, against a running Bursar: keys, usage as a table and
 * as CSV, the audit log, suspensions, the organisation, imports, the OpenAPI document, the
 * FOCUS export, and a backup.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { CLI } from '../helpers/process.js';

const run = promisify(execFile);
let t: TestBursar;

beforeAll(async () => {
  t = await startTestBursar();
});
afterAll(() => t.close());

async function bursar(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: t.adminToken, BURSAR_DATA_DIR: t.dataDir } });
  return stdout;
}

async function fails(...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await bursar(...args);
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
  throw new Error('expected the command to fail');
}

describe('bursar CLI', () => {
  it('creates, lists, shows, rotates and revokes keys', async () => {
    const created = JSON.parse(await bursar('--json', 'keys', 'create', '--label', 'cli-key', '--project', 'support-bot', '--expires-in', '30d', '--require', 'workflow', '--tag', 'team=t1')) as { id: string; secret: string; required_metadata: string[]; tags: Record<string, string>; expires_at: number };
    expect(created.secret).toMatch(/^bsk_/);
    expect(created.required_metadata).toEqual(['workflow']);
    expect(created.tags).toEqual({ team: 't1' });
    expect(created.expires_at).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const table = await bursar('keys', 'list');
    expect(table).toContain('cli-key');
    expect(table).toContain('support');
    expect(table).not.toContain(created.secret);
    expect(JSON.parse(await bursar('keys', 'show', 'cli-key')).id).toBe(created.id);
    const rotated = await bursar('keys', 'rotate', 'cli-key', '--grace', '1h');
    expect(rotated).toMatch(/secret \(shown once, store it now\):\n\s+bsk_/);
    expect(await bursar('keys', 'revoke', 'cli-key', '--reason', 'done')).toContain('revoked');
    const again = await fails('keys', 'revoke', 'cli-key');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already revoked.*\[conflict\]/);
  });

  it('reports usage as a table, CSV and JSON', async () => {
    const k = await t.key({ department: 'marketing' });
    await t.openai(k.secret, { 'x-bursar-workflow': 'cli-flow' }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    await t.b.writer.flush();
    const table = await bursar('usage', '--group-by', 'department,workflow');
    expect(table).toMatch(/marketing\s+│\s+cli-flow/);
    expect(table).toMatch(/total: \$0\.0+\d+ over \d+ calls/);
    const csv = await bursar('usage', '--group-by', 'workflow', '--where', 'department=marketing', '--format', 'csv');
    expect(csv.split('\n')[0]).toMatch(/^workflow,currency,requests/);
    expect(csv).toContain('cli-flow,USD,1');
    const json = JSON.parse(await bursar('usage', '--group-by', 'model', '--format', 'json'));
    expect(json.rows[0].group.model).toBe('gpt-4o-mini');
    expect((await fails('usage', '--group-by', 'colour')).stderr).toMatch(/Cannot group by "colour"/);
  });

  it('suspends and resumes a workflow, and verifies the audit log', async () => {
    expect(await bursar('suspend', 'workflow', 'cli-flow', '--reason', 'spike')).toContain('suspended');
    expect(await bursar('resume', 'workflow', 'cli-flow')).toContain('resumed');
    const audit = await bursar('audit', 'list', '--limit', '200');
    expect(audit).toContain('workflow.suspend');
    expect(await bursar('audit', 'verify')).toMatch(/audit log intact: \d+ entries/);
  });

  it('explains a missing or wrong token, and an unreachable Bursar', async () => {
    const { stderr } = await run(process.execPath, [CLI, 'keys', 'list'], { env: { ...process.env, BURSAR_URL: t.url, BURSAR_TOKEN: 'bat_wrong', BURSAR_DATA_DIR: '/nonexistent' } }).catch((e: { stderr: string }) => e);
    expect(stderr).toMatch(/unknown or revoked.*\[unauthorized\] \(token from BURSAR_TOKEN\)/);
    const down = await run(process.execPath, [CLI, 'keys', 'list'], { env: { ...process.env, BURSAR_URL: 'http://127.0.0.1:1', BURSAR_TOKEN: 'x' } }).catch((e: { stderr: string }) => e);
    expect(down.stderr).toMatch(/Cannot reach Bursar at http:\/\/127\.0\.0\.1:1/);
  });

  it('creates a budget from a file, shows its status, and handles an override', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bursar-cli-budget-'));
    try {
      const file = join(dir, 'budget.yaml');
      writeFileSync(file, 'id: cli-support\nname: CLI support\nscope: { department: support }\nwindow: month\nlimit: { amount: "5.00", currency: USD }\nowner: bob\n');
      expect(await bursar('budgets', 'create', file)).toContain('created budget cli-support');
      expect(await bursar('budgets', 'list')).toMatch(/cli-support.*CLI support/);
      const k = await t.key({ department: 'support' });
      await t.openai(k.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      const shown = await bursar('budgets', 'show', 'cli-support');
      expect(shown).toMatch(/CLI support \(cli-support\): hard production budget, window \d{4}-\d{2}, resets .*owner bob/);
      expect(shown).toMatch(/\$0\.0000\d+/);
      const req = await bursar('overrides', 'request', 'cli-support', '--amount', '2.50', '--reason', 'month-end close');
      const id = /override (ovr_[0-9a-f]+) requested/.exec(req)![1]!;
      expect(await bursar('overrides', 'approve', id, '--note', 'fine')).toContain(`override ${id} approved`);
      expect(await bursar('overrides', 'list', '--budget', 'cli-support')).toMatch(/2\.50 USD.*approved/);
      expect(JSON.parse(await bursar('--json', 'budgets', 'show', 'cli-support')).members[0].limit.amount).toBe('7.5');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says who the token is, shows the organisation, suspensions and one import, and prints the OpenAPI document', async () => {
    expect(await bursar('whoami')).toMatch(/^first-admin: admin\n$/);
    expect(await bursar('overview')).toMatch(/^This month \(\d{4}-\d{2}\): \$[\d.,]+ so far, \$[\d.,]+ projected by month end/);
    const overview = JSON.parse(await bursar('--json', 'overview')) as { currency: string; by_department: unknown[] };
    expect(overview.currency).toBe('USD');
    expect(Array.isArray(JSON.parse(await bursar('--json', 'agents')).data)).toBe(true);
    expect(JSON.parse(await bursar('--json', 'whoami'))).toMatchObject({ role: 'admin', department: null });
    const org = await bursar('org');
    expect(org).toMatch(/marketing\s+│\s+Marketing\s+│\s+MKTG\s+│\s+alice/);
    expect(org).toMatch(/campaign-ai.*MKTG-AI-001.*marketing.*growth/);
    expect(org).toContain('4 departments, 2 teams, 3 projects, 4 users');
    expect(JSON.parse(await bursar('--json', 'org')).users).toHaveLength(4);

    expect(await bursar('suspensions')).toBe('nothing is suspended\n');
    await bursar('suspend', 'agent', 'loopy', '--reason', 'runaway loop');
    expect(await bursar('suspensions')).toMatch(/agent\s+│\s+loopy\s+│\s+\d{4}-.*│\s+first-admin\s+│\s+runaway loop/);
    expect(JSON.parse(await bursar('--json', 'suspensions'))).toMatchObject([{ kind: 'agent', name: 'loopy', reason: 'runaway loop' }]);
    await bursar('resume', 'agent', 'loopy');

    const dir = mkdtempSync(join(tmpdir(), 'bursar-cli-import-'));
    try {
      const file = join(dir, 'seats.csv');
      writeFileSync(file, 'date,kind,amount,currency\n2026-11-01,seat,12.5,USD\n');
      const imported = JSON.parse(await bursar('--json', 'import', 'csv', file)) as { id: string };
      expect(await bursar('imports')).toContain(imported.id);
      const shown = await bursar('imports', 'show', imported.id);
      expect(shown).toContain(`${imported.id}: 1 rows, 1 lines added; 12.5 USD`);
      expect(shown).toMatch(/csv file seats\.csv \(sha256 [0-9a-f]{64}\), imported by first-admin/);
      expect((await fails('imports', 'show', 'imp_nope')).stderr).toMatch(/No import "imp_nope".*\[not_found\]/);

      const doc = JSON.parse(await bursar('openapi')) as { openapi: string; paths: Record<string, unknown> };
      expect(doc.openapi).toBe('3.1.0');
      expect(doc.paths).toHaveProperty(['/admin/v1/imports/{id}', 'get', 'x-bursar-cli'], 'bursar imports show');
      const out = join(dir, 'openapi.json');
      await bursar('openapi', '-o', out);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams the FOCUS export to a file or standard output, and leaves no file when it fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bursar-cli-export-'));
    try {
      const api = await t.admin<string>('GET', '/exports/focus');
      expect(api.status).toBe(200);
      expect(api.body.split('\n').length).toBeGreaterThan(2);
      const file = join(dir, 'focus.csv');
      expect(await bursar('export', 'focus', '-o', file)).toBe('');
      expect(readFileSync(file, 'utf8')).toBe(api.body);
      expect(await bursar('export', 'focus')).toBe(api.body);
      const missing = join(dir, 'none.csv');
      expect((await fails('export', 'focus', '--run', 'run_nope', '-o', missing)).stderr).toMatch(/\[not_found\]/);
      expect(existsSync(missing)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plans: releases a budget\'s reserve, reallocates an envelope, records review decisions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bursar-cli-plan-'));
    try {
      const budget = join(dir, 'budget.yaml');
      writeFileSync(budget, 'id: cli-reserve\nscope: { department: platform }\nwindow: month\nlimit: { amount: "8.00", currency: USD }\nreserve: "25%"\n');
      await bursar('budgets', 'create', budget);
      expect(await bursar('budgets', 'show', 'cli-reserve')).toContain('reserve 25% ($2.00): $0.00 released, $2.00 held');
      const req = await bursar('reserves', 'release', 'cli-reserve', '--amount', '0.50', '--reason', 'launch week');
      const id = /reserve release (rsv_[0-9a-f]+) of 0\.5 USD requested/.exec(req)![1]!;
      expect(await bursar('reserves', 'approve', id)).toContain(`reserve release ${id} approved`);
      expect(await bursar('reserves', 'list', '--budget', 'cli-reserve')).toMatch(/0\.5 USD.*approved.*launch week/);
      expect(JSON.parse(await bursar('--json', 'budgets', 'show', 'cli-reserve')).members[0].limit.amount).toBe('6.5');

      const now = new Date();
      const envelope = join(dir, 'envelope.json');
      writeFileSync(envelope, JSON.stringify({ id: 'cli-env', department: 'support', quarter: `${now.getUTCFullYear()}-Q${Math.floor(now.getUTCMonth() / 3) + 1}`, amount: '1000', split: { production: 60, scaling: 25, experiments: 15 } }));
      expect(await bursar('envelopes', 'create', envelope)).toContain('created envelope cli-env');
      const moved = await bursar('envelopes', 'reallocate', 'cli-env', '--from', 'production', '--to', 'experiments', '--amount', '100', '--reason', 'agent trials');
      expect(moved).toMatch(/moved 100 from production to experiments/);
      expect(moved).toMatch(/experiments .*15 .*\$150\.00 .*\$100\.00 .*\$250\.00/);
      const listed = JSON.parse(await bursar('--json', 'envelopes', 'list', '--department', 'support')) as { parts: { part: string; amount: { amount: string } }[] }[];
      expect(listed[0]!.parts.map((p) => p.amount.amount)).toEqual(['500', '250', '250']);

      const added = await bursar('reviews', 'add', '--month', '2026-10', '--kind', 'budget', '--decision', 'Cap the lab', '--owner', 'dave', '--expected-effect', 'no surprises', '--next-review', '2026-12-01');
      const dec = /recorded (dec_[0-9a-f]+): budget decision owned by dave/.exec(added)![1]!;
      expect(await bursar('reviews', 'update', dec, '--status', 'done', '--notes', 'held')).toContain(`updated ${dec}: done`);
      expect(await bursar('reviews', 'list', '--month', '2026-10')).toMatch(/Cap the lab.*dave.*no surprises.*2026-12-01.*done.*held/);
      expect(JSON.parse(await bursar('--json', 'reviews', 'list', '--kind', 'budget'))).toEqual([expect.objectContaining({ id: dec, status: 'done' })]);
      expect((await fails('reviews', 'add', '--month', '2026-10', '--kind', 'vibes', '--decision', 'x', '--owner', 'dave', '--expected-effect', 'x', '--next-review', '2026-12-01')).stderr).toMatch(/kind: .*\[validation_failed\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('backs up the database while Bursar runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bursar-backup-'));
    try {
      const dest = join(dir, 'copy.db');
      expect(await bursar('backup', dest)).toContain('backed up');
      expect(existsSync(dest)).toBe(true);
      const db = new Database(dest, { readonly: true });
      expect((db.prepare('select count(*) as n from audit_log').get() as { n: number }).n).toBeGreaterThan(0);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
