/**
 * The demo's month of traffic, as a plan: who calls, when, on which endpoint and dialect, with
 * what prompt, and what the application reports afterwards. The same seed gives the same plan.
 * It has a working week (quieter weekends, busy mid-mornings), nightly batch jobs (off-hours
 * use), agent runs with tool calls (one of which loops), workflows whose outputs are accepted or
 * rejected, a marketing batch that spikes spend a few days ago, and a two-hour outage of one
 * model that sends a route to its fallback.
 */
import type { DemoKey } from './organisation.js';
import { seeded } from '../core/random.js';

export const DAY_MS = 86_400_000;
/** The sandbox's window: its last this many days up to today, and as many again after. */
export const SANDBOX_DAYS = 21;
const HOUR_MS = 3_600_000;

export type DemoPath = '/v1/chat/completions' | '/v1/messages' | '/v1/responses' | '/v1/embeddings';

export interface DemoOutcome {
  readonly accepted: boolean;
  readonly unit: string;
  /** What the output is worth to the business, in GBP. */
  readonly value?: string;
}

export interface DemoCall {
  readonly key: DemoKey;
  readonly path: DemoPath;
  readonly body: Record<string, unknown>;
  readonly headers: Readonly<Record<string, string>>;
  /** What the application reports on this call once it is answered. */
  readonly outcome?: DemoOutcome;
}

/** Calls made one after another (an agent run's steps), at one time. */
export interface DemoTask {
  readonly at: number;
  readonly calls: readonly DemoCall[];
  /** The run and what it produced, reported once its calls are done. */
  readonly run?: { readonly key: DemoKey; readonly id: string; readonly headers: Readonly<Record<string, string>>; readonly outcome: DemoOutcome };
}

export interface DemoPlan {
  readonly tasks: readonly DemoTask[];
  /** Midnight (UTC) of the first day. */
  readonly start: number;
  readonly days: number;
  /** The day marketing's batch spiked spend (YYYY-MM-DD). */
  readonly spikeDay: string;
  /** While [from, to) the model below answers 503 (epoch ms). */
  readonly outage: { readonly model: string; readonly from: number; readonly to: number };
}

const TICKETS = ['a parcel marked delivered that never arrived', 'a double charge on a gift card', 'a broken kettle under warranty', 'a late refund for a returned coat', 'a missing item in a grocery order', 'a loyalty points balance that reset'];
const CAMPAIGNS = ['the winter sale', 'the loyalty relaunch', 'the new store in Leeds', 'free delivery weekend', 'the spring catalogue'];
const CLAUSE = 'The Supplier shall indemnify the Customer against all losses arising from any breach of clause 9 (Data Protection), save that its aggregate liability shall not exceed the fees paid in the twelve months before the claim. ';
const CODE = 'export function allocate(lines: Line[], weights: Map<string, bigint>): Part[] { /* largest remainder */ }\n';
const QUESTIONS = ['How many days of annual leave do I get?', 'What is the expenses limit for a client dinner?', 'Can I work from abroad for two weeks?', 'How do I book a meeting room in the Leeds office?', 'Who approves a new software subscription?', 'What is the parental leave policy?'];

const pick = <T,>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;
const chat = (model: string, content: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ model, messages: [{ role: 'user', content }], ...extra });
const streamed = (r: () => number, share: number): Record<string, unknown> => (r() < share ? { stream: true, stream_options: { include_usage: true } } : {});

/** The tool an agent's first step asks for, and the conversation of its next step. */
const TOOLS = [{ type: 'function', function: { name: 'lookup', description: 'Look up a record', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
function agentSteps(model: string, task: string, steps: number, step: (i: number) => string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < steps; i++) {
    const messages: Record<string, unknown>[] = [{ role: 'system', content: 'You are an agent. Use the lookup tool when you need facts.' }, { role: 'user', content: task }];
    for (let j = 0; j < i; j++) {
      messages.push({ role: 'assistant', content: null, tool_calls: [{ id: `call_${j}`, type: 'function', function: { name: 'lookup', arguments: JSON.stringify({ query: step(j) }) } }] });
      messages.push({ role: 'tool', tool_call_id: `call_${j}`, content: `Result ${j}: ${step(j)} found, 3 related records.` });
    }
    if (i > 0) messages.push({ role: 'user', content: `Continue: ${step(i)}` });
    out.push({ model, messages, tools: TOOLS, max_tokens: 400 });
  }
  return out;
}

/**
 * The plan for `days` days up to `now` (the last day is today, up to the current hour). The
 * spike is three days before today, the outage nine.
 */
export function planTraffic(now: number, seed = 8, days = 30): DemoPlan {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const start = today - (days - 1) * DAY_MS;
  const spike = today - 3 * DAY_MS;
  const outage = { model: 'gpt-4o', from: today - 9 * DAY_MS + 10 * HOUR_MS, to: today - 9 * DAY_MS + 12 * HOUR_MS };
  const loopDay = today - 6 * DAY_MS;
  const tasks: DemoTask[] = [];
  for (let d = 0; d < days; d++) {
    const day = start + d * DAY_MS;
    const date = new Date(day).toISOString().slice(0, 10);
    const r = seeded(seed * 1000 + d);
    const weekend = new Date(day).getUTCDay() % 6 === 0;
    const scale = weekend ? 0.25 : 1;
    /** `n` tasks of the working day (8:00-18:00, busiest mid-morning), each a minute apart at most. */
    const office = (n: number, make: (i: number) => Omit<DemoTask, 'at'>): void => {
      for (let i = 0; i < Math.round(n * scale); i++) {
        const hour = 8 + Math.min(9, Math.floor(Math.abs(r() + r() - 0.8) * 7));
        tasks.push({ at: day + hour * HOUR_MS + Math.floor(r() * 60) * 60_000, ...make(i) });
      }
    };
    const call = (c: DemoCall): Omit<DemoTask, 'at'> => ({ calls: [c] });

    office(48, (i) => call({
      key: 'support-bot', path: '/v1/chat/completions',
      body: chat('route:support-drafting', `Draft a reply to a customer about ${pick(TICKETS, r)} (ticket T-${d * 100 + i}).`, { max_tokens: 300, ...streamed(r, 0.3) }),
      headers: { 'x-bursar-workflow': 'ticket-drafting', 'x-bursar-tags': `ticket=T-${d * 100 + i}` },
      outcome: { accepted: r() < 0.72, unit: 'reply' },
    }));
    office(6, (i) => {
      const run = `triage-${date}-${i}`;
      const headers = { 'x-bursar-workflow': 'ticket-triage', 'x-bursar-agent': 'triage-agent', 'x-bursar-agent-run': run };
      const steps = agentSteps('gpt-4.1-mini', `Triage ticket T-${d * 100 + i}: ${pick(TICKETS, r)}.`, 3, (j) => `order history step ${j} of ${run}`);
      return { calls: steps.map((body) => ({ key: 'triage-agent', path: '/v1/chat/completions', body, headers })), run: { key: 'triage-agent', id: run, headers, outcome: { accepted: r() < 0.8, unit: 'ticket triaged', value: '1.50' } } };
    });
    for (const key of ['alice-laptop', 'mia-laptop'] as const) {
      office(key === 'alice-laptop' ? 6 : 5, (i) => call({
        key, path: '/v1/chat/completions',
        body: chat('route:marketing-copy', `Write three subject lines for ${pick(CAMPAIGNS, r)}, variant ${d}-${i}.`, streamed(r, 0.5)),
        headers: { 'x-bursar-workflow': 'campaign-copy' },
        outcome: { accepted: r() < 0.45, unit: 'copy variant' },
      }));
    }
    // The SEO writer: a steady trickle, and on the spike day a batch of sixty long articles.
    office(day === spike ? 70 / scale : 8, (i) => call({
      key: 'seo-writer', path: '/v1/chat/completions',
      body: chat('gpt-4o', `Write a 1,200-word article about ${pick(CAMPAIGNS, r)} for our blog, part ${d}-${i}. ${'Use our brand voice: warm, plain, British English. '.repeat(day === spike ? 30 : 4)}`, { max_tokens: 1500 }),
      headers: { 'x-bursar-workflow': 'seo-articles' },
      outcome: { accepted: r() < 0.6, unit: 'article' },
    }));
    for (const key of ['chen-contracts', 'lena-contracts'] as const) {
      office(5, (i) => call({
        key, path: '/v1/messages',
        body: { model: 'route:contract-analysis', max_tokens: 600, messages: [{ role: 'user', content: `Review this contract (${date}-${i}) for liability risks:\n${CLAUSE.repeat(20 + Math.floor(r() * 40))}` }], ...(r() < 0.5 ? { stream: true } : {}) },
        headers: { 'x-bursar-workflow': 'contract-review' },
        outcome: { accepted: r() < 0.85, unit: 'contract reviewed', value: '40' },
      }));
    }
    for (const key of ['eli-ide', 'priya-ide'] as const) {
      office(key === 'eli-ide' ? 12 : 10, (i) => call({
        key, path: '/v1/messages',
        body: { model: 'route:code-assist', max_tokens: 800, system: 'You are a careful TypeScript reviewer.', messages: [{ role: 'user', content: `Review change ${date}-${i}:\n${CODE.repeat(15 + Math.floor(r() * 60))}` }], ...(r() < 0.7 ? { stream: true } : {}) },
        headers: { 'x-bursar-workflow': 'code-review' },
      }));
    }
    // Eli codes late some nights (off-hours use).
    if (!weekend && r() < 0.4) {
      for (let i = 0; i < 4; i++) tasks.push({ at: day + 22 * HOUR_MS + i * 9 * 60_000, calls: [{ key: 'eli-ide', path: '/v1/messages', body: { model: 'route:code-assist', max_tokens: 800, messages: [{ role: 'user', content: `Late fix ${date}-${i}: ${CODE.repeat(30)}` }], stream: true }, headers: { 'x-bursar-workflow': 'code-review' } }] });
    }
    office(1, () => {
      const run = `release-${date}`;
      const headers = { 'x-bursar-workflow': 'release-notes', 'x-bursar-agent': 'release-notes-agent', 'x-bursar-agent-run': run };
      const steps = agentSteps('gpt-4o', `Write the release notes for build ${date}.`, 5, (j) => `merged pull requests page ${j}`);
      return { calls: steps.map((body) => ({ key: 'release-notes-agent', path: '/v1/chat/completions', body, headers })), run: { key: 'release-notes-agent', id: run, headers, outcome: { accepted: r() < 0.9, unit: 'release notes' } } };
    });
    if (day === loopDay) {
      // A run stuck on one step: the loop guard stops it at the fourth identical request.
      const run = `release-${date}-retry`;
      const headers = { 'x-bursar-workflow': 'release-notes', 'x-bursar-agent': 'release-notes-agent', 'x-bursar-agent-run': run };
      const stuck = agentSteps('gpt-4o', `Write the release notes for hotfix ${date}.`, 1, () => 'merged pull requests')[0]!;
      tasks.push({ at: day + 15 * HOUR_MS, calls: Array.from({ length: 7 }, () => ({ key: 'release-notes-agent' as const, path: '/v1/chat/completions' as const, body: stuck, headers })), run: { key: 'release-notes-agent', id: run, headers, outcome: { accepted: false, unit: 'release notes' } } });
    }
    // The sandbox evaluates models every day of its window, weekends too.
    for (let i = 0; i < (d >= days - SANDBOX_DAYS ? 10 : 0); i++) {
      const embed = i % 2 === 0;
      tasks.push({ at: day + (9 + i) * HOUR_MS + 30 * 60_000, calls: [{
        key: 'ml-sandbox', path: embed ? '/v1/embeddings' : '/v1/chat/completions',
        body: embed ? { model: 'text-embedding-3-small', input: Array.from({ length: 16 }, (_, j) => `product description ${d}-${i}-${j}: ${pick(CAMPAIGNS, r)}`) } : chat('gpt-4.1', `Grade this answer for factuality (eval ${d}-${i}): ${CLAUSE.repeat(30)}`, { max_tokens: 200 }),
        headers: { 'x-bursar-workflow': 'model-evaluation' },
      }] });
    }
    office(12, (i) => call({
      key: 'invoice-extraction', path: '/v1/responses',
      body: { model: 'gpt-4.1-mini', input: `Extract supplier, date, net, VAT and total from invoice INV-${d}${i}: ${'Line item: 12 x cartons, £4.10 each. '.repeat(6)}`, max_output_tokens: 300 },
      headers: { 'x-bursar-workflow': 'invoice-capture' },
      outcome: { accepted: r() < 0.88, unit: 'invoice', value: '3' },
    }));
    for (const key of ['sam-crm', 'sara-crm'] as const) {
      office(6, (i) => call({ key, path: '/v1/chat/completions', body: chat('gpt-4o-mini', `Write a follow-up email to prospect ${d}-${i} after a demo of our loyalty platform.`, streamed(r, 0.4)), headers: { 'x-bursar-workflow': 'prospect-emails' }, outcome: { accepted: r() < 0.55, unit: 'email' } }));
    }
    // The nightly lead enrichment job runs at two in the morning, every night.
    for (let i = 0; i < 8; i++) {
      tasks.push({ at: day + 2 * HOUR_MS + i * 4 * 60_000, calls: [{ key: 'lead-enrichment', path: '/v1/chat/completions', body: chat('gpt-4o-mini', `Summarise the public profile of company ${d}-${i} for our CRM.`), headers: { 'x-bursar-workflow': 'lead-enrichment' } }] });
    }
    office(10, () => call({ key: 'intranet-faq', path: '/v1/chat/completions', body: chat('route:policy-faq', pick(QUESTIONS, r)), headers: { 'x-bursar-workflow': 'policy-faq' } }));
  }
  return {
    tasks: tasks.filter((t) => t.at <= now).sort((a, b) => a.at - b.at),
    start,
    days,
    spikeDay: new Date(spike).toISOString().slice(0, 10),
    outage,
  };
}
