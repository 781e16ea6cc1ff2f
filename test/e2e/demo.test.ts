/**
 * `bursar demo`'s seeding, end to end: a month of traffic through the real gateway into a temp
 * folder, then that folder served with the real clock, as `bursar demo` serves it. Every view
 * of the dashboard must find something to show: departments, a month of lines, refusals,
 * fallbacks and downgrades, outcomes, an anomaly, thresholds crossed, a pending override, an
 * allocation run, and tokens that sign in with their role.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerLine } from '../../src/core/ledger.js';
import { demoDirProblem, seedDemo, type DemoSummary } from '../../src/demo/seed.js';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';
import { CLI } from '../helpers/process.js';

const DAY = 86_400_000;
let dir: string;
let s: DemoSummary;
let t: TestBursar;
let lines: LedgerLine[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-demo-'));
  s = await seedDemo({ dir });
  t = await startTestBursar({ yaml: readFileSync(s.configPath, 'utf8'), dataDir: s.dataDir });
  lines = await t.lines();
}, 120_000);
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('bursar demo', () => {
  it('fills an organisation of at least five departments with cost centres, projects and users', async () => {
    const org = (await t.admin<{ departments: { id: string; costCentre?: string; cost_centre?: string }[]; projects: unknown[]; users: unknown[] }>('GET', '/org')).body;
    expect(org.departments.length).toBeGreaterThanOrEqual(5);
    expect(org.projects.length).toBeGreaterThanOrEqual(8);
    expect(org.users.length).toBeGreaterThanOrEqual(10);
    const byDepartment = new Set(lines.filter((l) => l.source === 'gateway').map((l) => l.dims.department));
    expect(byDepartment.size).toBeGreaterThanOrEqual(5);
  });

  it('sends thousands of calls spread over about thirty days, in both dialects, streamed and not, at night too', () => {
    const calls = lines.filter((l) => l.source === 'gateway');
    expect(calls.length).toBe(s.calls);
    expect(s.calls).toBeGreaterThan(3000);
    const ts = calls.map((l) => l.ts);
    expect(Math.max(...ts) - Math.min(...ts)).toBeGreaterThan(28 * DAY);
    expect(new Set(calls.map((l) => new Date(l.ts).toISOString().slice(0, 10))).size).toBeGreaterThanOrEqual(29);
    expect(new Set(calls.map((l) => l.endpoint))).toEqual(new Set(['chat', 'messages', 'responses', 'embeddings']));
    expect(calls.some((l) => l.stream) && calls.some((l) => !l.stream)).toBe(true);
    expect(calls.filter((l) => new Date(l.ts).getUTCHours() < 6).length).toBeGreaterThan(100);
    expect(calls.some((l) => l.dims.environment === 'sandbox')).toBe(true);
  });

  it('has refusals (a run-out sandbox, a looping agent), fallbacks, downgrades and cache hits', () => {
    const refused = lines.filter((l) => l.status === 'refused');
    expect(refused.length).toBe(s.refused);
    expect(new Set(refused.map((l) => l.errorCode))).toEqual(new Set(['budget_exceeded', 'agent_loop']));
    expect(refused.filter((l) => l.errorCode === 'budget_exceeded').every((l) => l.dims.project === 'ml-sandbox')).toBe(true);
    expect(lines.filter((l) => l.dims.fallback_model !== null && l.status === 'ok').length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.dims.downgraded_from !== null).length).toBeGreaterThan(0);
    expect(lines.some((l) => l.cacheHit)).toBe(true);
  });

  it('reports outcomes, accepted and rejected, so cost per accepted output can be read', async () => {
    const r = await t.admin<{ rows: { group: { workflow: string }; outcomes: number; accepted: number; cost_per_accepted: string | null }[] }>('GET', `/reports/unit-economics?group_by=workflow&from=${new Date(Date.now() - 40 * DAY).toISOString().slice(0, 10)}`);
    expect(r.status).toBe(200);
    const drafting = r.body.rows.find((x) => x.group.workflow === 'ticket-drafting')!;
    expect(drafting.outcomes).toBeGreaterThan(drafting.accepted);
    expect(drafting.accepted).toBeGreaterThan(0);
    expect(drafting.cost_per_accepted).not.toBeNull();
    expect(r.body.rows.find((x) => x.group.workflow === 'ticket-triage')!.outcomes).toBeGreaterThan(0);
  });

  it('plants a spend spike that the anomalies report names, and that became an alert', async () => {
    const rows = (await t.admin<{ data: { member: string; day: string }[] }>('GET', '/reports/anomalies?by=department&metric=spend')).body.data;
    expect(rows).toContainEqual(expect.objectContaining({ member: 'marketing', day: s.spikeDay }));
    const events = (await t.admin<{ data: { kind: string; budget: string }[] }>('GET', '/events')).body.data;
    expect(events).toContainEqual(expect.objectContaining({ kind: 'anomaly', budget: 'department:marketing' }));
    expect(events.some((e) => e.kind === 'threshold')).toBe(true);
  });

  it('leaves an override waiting for approval, seats imported, and last month allocated', async () => {
    const overrides = (await t.admin<{ data: { budget: string; status: string }[] }>('GET', '/overrides')).body.data;
    expect(overrides).toContainEqual(expect.objectContaining({ budget: 'marketing-monthly', status: 'requested' }));
    expect(lines.filter((l) => l.source === 'import' && l.endpoint === 'seat').length).toBeGreaterThan(0);
    const runs = (await t.admin<{ data: { id: string; status: string }[] }>('GET', '/allocations/runs')).body.data;
    expect(runs).toContainEqual(expect.objectContaining({ id: s.allocationRun, status: 'final' }));
    const statement = await t.admin<{ rows: { department: string | null }[] }>('GET', `/allocations/runs/${s.allocationRun}/statement`);
    expect(statement.status).toBe(200);
    expect(new Set(statement.body.rows.map((r) => r.department)).size).toBeGreaterThanOrEqual(5);
  });

  it('issues a token per role, each seeing what its role may', async () => {
    const token = (role: string) => s.tokens.find((x) => x.role === role)!.secret;
    expect(s.tokens.map((x) => x.role).sort()).toEqual(['admin', 'finance', 'manager', 'member']);
    const who = await t.admin<{ role: string }>('GET', '/whoami', undefined, token('finance'));
    expect(who.body.role).toBe('finance');
    // Over the seeded 30 days: early on the 1st of a month, this month holds no marketing call yet.
    const manager = await t.admin<{ rows: { group: { department: string } }[] }>('GET', `/usage?group_by=department&from=${new Date(Date.now() - 40 * DAY).toISOString().slice(0, 10)}`, undefined, token('manager'));
    expect(manager.status).toBe(200);
    expect(new Set(manager.body.rows.map((r) => r.group.department))).toEqual(new Set(['marketing']));
    expect((await t.admin('POST', '/allocations/runs', { period: '2026-01' }, token('member'))).status).toBe(403);
  });

  it('will not seed a folder twice: the command serves a seeded folder, and names one it cannot', async () => {
    expect(demoDirProblem(dir)).toMatch(/already holds a seeded demo/);
    const run = promisify(execFile);
    const cli = (d: string) => run('node', [CLI, 'demo', '--dir', d, '--seed-only'], { cwd: dir });
    await expect(cli(dir)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^error: .* already holds a seeded demo.*remove the folder to seed afresh/) });
    writeFileSync(join(dir, 'sign-in.txt'), 'export BURSAR_URL={url}\n');
    const { stderr } = await cli(dir);
    expect(stderr).toContain('export BURSAR_URL=http://127.0.0.1:4000');
    expect((await t.lines()).length).toBe(lines.length);
  });
});
