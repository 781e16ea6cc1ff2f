/**
 * `bursar demo`'s seeding: writes the demo organisation's bursar.yaml, starts Bursar on it with
 * a clock the demo moves, and sends a month of traffic through the real gateway (HTTP, real
 * virtual keys, the built-in simulator answering), hour by hour of the past month. Then it
 * reports outcomes, imports seat costs, runs last month's allocation and files an override
 * request, as the people of the organisation would, through the admin API. The seeded data
 * folder is then served by an ordinary `bursar start` with the real clock.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DestinationStream } from 'pino';
import { DateTime } from 'luxon';
import { startBursar } from '../app.js';
import { loadConfig } from '../config/load.js';
import { AdminClient } from '../cli/client.js';
import { Simulator } from '../providers/simulator/server.js';
import { DEMO_KEYS, DEMO_TOKENS, demoYaml, type DemoKey } from './organisation.js';
import { demoLimits, demoWindows } from './limits.js';
import { DAY_MS, planTraffic, type DemoCall, type DemoTask } from './traffic.js';

export interface DemoOptions {
  /** The folder to write bursar.yaml and data/ into. */
  readonly dir: string;
  /** The time the month of traffic ends at (default: now). */
  readonly now?: number;
  readonly seed?: number;
  /** Bursar's log while seeding (default: errors only, to stdout). */
  readonly logDestination?: DestinationStream;
  /** Hears how far the seeding is: days done of days. */
  readonly progress?: (done: number, of: number) => void;
}

export interface DemoSummary {
  readonly configPath: string;
  readonly dataDir: string;
  /** Admin tokens for the dashboard and the CLI, one per role. */
  readonly tokens: readonly { readonly label: string; readonly role: string; readonly secret: string }[];
  readonly calls: number;
  /** Calls answered 429 (budgets, the loop guard) and 5xx (the outage, with nowhere to fall back). */
  readonly refused: number;
  readonly failed: number;
  readonly outcomes: number;
  readonly allocationRun: string;
  readonly spikeDay: string;
  readonly ms: number;
}

/** Tasks of one hour are sent together; the clock stands at the hour's first task meanwhile. */
const HOUR_MS = 3_600_000;
const CONCURRENCY = 24;

/** A folder is free for the demo if it holds no seeded data yet. */
export function demoDirProblem(dir: string): string | null {
  const data = join(dir, 'data');
  if (existsSync(data) && readdirSync(data).length > 0) return `${data} already holds a seeded demo. Serve it with BURSAR_DATA_DIR=${data} bursar start --config ${join(dir, 'bursar.yaml')}, or remove the folder to seed afresh.`;
  return null;
}

export async function seedDemo(o: DemoOptions): Promise<DemoSummary> {
  const t0 = Date.now();
  const now = o.now ?? Date.now();
  const dir = resolve(o.dir);
  const problem = demoDirProblem(dir);
  if (problem) throw new Error(problem);
  const plan = planTraffic(now, o.seed);
  const configPath = join(dir, 'bursar.yaml');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(configPath, demoYaml(demoLimits(plan, 'Europe/London'), demoWindows(plan)));
  const config = loadConfig({ configPath, env: demoEnv(dataDir, '0', 'error') });

  // The clock calls start at: the hour being sent, moving on in real time within it.
  let offset = 0;
  const clock = (): number => Date.now() + offset;
  const sim = new Simulator({
    fault: (req) => (req.body.model === plan.outage.model && clock() >= plan.outage.from && clock() < plan.outage.to ? { kind: 'status', status: 503, body: { error: { message: 'simulated outage', type: 'server_error' } } } : undefined),
  });
  await sim.start();
  const b = await startBursar(config, { simulator: sim, clock, ...(o.logDestination ? { logDestination: o.logDestination } : {}), shutdownGraceMs: 5_000 });
  try {
    const client = (token: string) => new AdminClient({ url: b.url, dataDir, token, tokenSource: 'the demo' });
    const admin = client(b.firstAdminToken ?? '');
    const keys = new Map<DemoKey, string>();
    for (const [label, attrs] of Object.entries(DEMO_KEYS) as [DemoKey, (typeof DEMO_KEYS)[DemoKey]][]) {
      keys.set(label, (await admin.call<{ secret: string }>('POST', '/keys', { label, ...attrs })).secret);
    }
    const tokens = [];
    for (const t of DEMO_TOKENS) tokens.push({ label: t.label, role: t.role, secret: (await admin.call<{ secret: string }>('POST', '/tokens', t)).secret });

    const counts = { calls: 0, refused: 0, failed: 0, outcomes: 0 };
    const send = async (c: DemoCall): Promise<string | null> => {
      const res = await fetch(`${b.url}${c.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys.get(c.key)!}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...c.headers },
        body: JSON.stringify(c.body),
      });
      await res.arrayBuffer();
      counts.calls++;
      if (res.status === 429) counts.refused++;
      else if (res.status >= 500) counts.failed++;
      return res.ok ? res.headers.get('x-request-id') : null;
    };
    type Report = { key: DemoKey; headers: Readonly<Record<string, string>>; body: Record<string, unknown> };
    const reports: Report[] = [];
    const run = async (task: DemoTask): Promise<void> => {
      for (const c of task.calls) {
        const id = await send(c);
        if (id && c.outcome) reports.push({ key: c.key, headers: {}, body: { request_id: id, ...outcomeBody(c.outcome) } });
      }
      if (task.run) reports.push({ key: task.run.key, headers: task.run.headers, body: { run_id: task.run.id, ...outcomeBody(task.run.outcome) } });
    };
    const report = async (r: Report): Promise<void> => {
      const res = await fetch(`${b.url}/v1/outcomes`, { method: 'POST', headers: { authorization: `Bearer ${keys.get(r.key)!}`, 'content-type': 'application/json', ...r.headers }, body: JSON.stringify(r.body) });
      if (!res.ok) throw new Error(`reporting an outcome failed: ${res.status} ${await res.text()}`);
      counts.outcomes++;
    };

    // Hour by hour; each day's outcomes are reported that evening, and its anomalies looked for.
    const tasks = plan.tasks;
    for (let i = 0, day = -1; i < tasks.length; ) {
      const hour = Math.floor(tasks[i]!.at / HOUR_MS) * HOUR_MS;
      const slot: DemoTask[] = [];
      while (i < tasks.length && tasks[i]!.at < hour + HOUR_MS) slot.push(tasks[i++]!);
      const d = Math.floor((hour - plan.start) / DAY_MS);
      if (d !== day) {
        if (day >= 0) await endOfDay(plan.start + day * DAY_MS);
        day = d;
        o.progress?.(d, plan.days);
      }
      offset = slot[0]!.at - Date.now();
      await pool(slot, CONCURRENCY, run);
    }
    async function endOfDay(dayStart: number): Promise<void> {
      offset = Math.min(dayStart + 20 * HOUR_MS, now) - Date.now();
      await pool(reports.splice(0), CONCURRENCY, report);
      await b.writer.flush();
      await b.writer.counted();
      if (dayStart >= plan.start + (plan.days - 4) * DAY_MS) await b.anomalyAlerts.check(clock());
    }
    await endOfDay(plan.start + (plan.days - 1) * DAY_MS);
    o.progress?.(plan.days, plan.days);
    offset = 0;

    // Finance's side: seat subscriptions that never pass through the gateway, and last month's allocation.
    const lastMonth = DateTime.fromMillis(now, { zone: 'Europe/London' }).startOf('month').minus({ months: 1 });
    await admin.send('/imports?format=csv&file_name=seats.csv', Buffer.from(seatCsv(lastMonth)));
    const allocation = await admin.call<{ id: string }>('POST', '/allocations/runs', { period: lastMonth.toFormat('yyyy-MM') });
    await admin.call('POST', `/allocations/runs/${allocation.id}/finalize`, {});
    // Marketing's manager asks for more room after the spike; it waits for approval.
    const alice = tokens.find((t) => t.role === 'manager')!.secret;
    await client(alice).call('POST', '/budgets/marketing-monthly/overrides', { amount: '25', reason: 'Winter sale launch: the SEO batch ran early' });
    return { configPath, dataDir, tokens, ...counts, allocationRun: allocation.id, spikeDay: plan.spikeDay, ms: Date.now() - t0 };
  } finally {
    await b.close();
    await sim.close();
  }
}

/** The environment of the demo's Bursar: this data folder and port, and nothing shared (no PostgreSQL, no Redis). */
export function demoEnv(dataDir: string, port: string, logLevel = process.env.BURSAR_LOG_LEVEL ?? 'info'): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BURSAR_')));
  return { ...env, BURSAR_DATA_DIR: dataDir, BURSAR_PORT: port, BURSAR_LOG_LEVEL: logLevel };
}

function outcomeBody(o: { accepted: boolean; unit: string; value?: string }): Record<string, unknown> {
  return { accepted: o.accepted, unit: o.unit, ...(o.value && o.accepted ? { value: { amount: o.value, currency: 'GBP' } } : {}) };
}

/** Seats of last month and this one: Copilot for engineering (shared by headcount) and ChatGPT Enterprise for marketing. */
function seatCsv(lastMonth: DateTime): string {
  const rows = ['date,end_date,kind,description,quantity,unit,unit_price,currency,department,project,tags'];
  for (const m of [lastMonth, lastMonth.plus({ months: 1 })]) {
    const from = m.toFormat('yyyy-MM-dd');
    const to = m.plus({ months: 1 }).toFormat('yyyy-MM-dd');
    rows.push(`${from},${to},seat,GitHub Copilot Business,12,seat,19.00,USD,engineering,,vendor=github`);
    rows.push(`${from},${to},seat,ChatGPT Enterprise,3,seat,60.00,USD,marketing,,vendor=openai`);
    rows.push(`${from},${to},gpu_hours,Evaluation GPUs,16,hour,2.40,USD,,ml-sandbox,`);
  }
  return `${rows.join('\n')}\n`;
}

/** Runs `work` over `items`, at most `n` at once. */
async function pool<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}


