/**
 * Notifications of budget events, against a local HTTP receiver and a local SMTP sink: a
 * threshold crossed reaches finance's signed webhook, the owner's email and Slack, and the log;
 * each threshold once per window, the next one escalating; a receiver that fails is tried again
 * with backoff and then kept as a dead letter, which can be sent again once it is fixed.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

type Received = { path: string; headers: Record<string, string | string[] | undefined>; body: string };
const received: Received[] = [];
const mails: { to: string; data: string }[] = [];
let failing = false;
let http: Server;
let smtp: SMTPServer;
let t: TestBursar;

beforeAll(async () => {
  http = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (failing && req.url === '/hook') {
        res.writeHead(500).end('down');
        return;
      }
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, cb) {
      let data = '';
      stream.on('data', (c: Buffer) => (data += c.toString()));
      stream.on('end', () => {
        for (const to of session.envelope.rcptTo) mails.push({ to: to.address, data });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
  const hp = (http.address() as AddressInfo).port;
  const sp = (smtp.server.address() as AddressInfo).port;
  t = await startTestBursar({
    env: { HOOK_SECRET: 'whsec-test', SLACK_URL: `http://127.0.0.1:${hp}/slack` },
    yaml: `${ORG_YAML.replace('{ id: alice, department: marketing', '{ id: alice, email: alice@acme.example, department: marketing')}
budgets:
  - { id: marketing-month, name: Marketing, scope: { department: marketing }, window: month, limit: { amount: "0.0020", currency: USD }, enforcement: soft, owner: alice }
  - { id: support-month, name: Support, scope: { department: support }, window: month, limit: { amount: "0.0100", currency: USD }, enforcement: soft, thresholds: [] }
notifications:
  channels:
    - { id: finance-hook, type: webhook, url: "http://127.0.0.1:${hp}/hook", secret: { env: HOOK_SECRET } }
    - { id: team-slack, type: slack, url: { env: SLACK_URL } }
    - { id: mail, type: email, from: bursar@acme.example, smtp: { host: 127.0.0.1, port: ${sp} } }
    - { id: log, type: log }
  finance: { channels: [finance-hook, log] }
  owners: { channels: [mail, team-slack] }
  retry: { attempts: 3, base_ms: 50 }
`,
  });
});
afterAll(async () => {
  await t.close();
  http.close();
  await new Promise<void>((r) => smtp.close(r));
});

type Delivery = { id: string; event: { id: string; kind: string }; channel: string; to: string | null; status: string; attempts: number; last_error: string | null };
const deliveries = async (status?: string) => (await t.admin<{ data: Delivery[] }>('GET', `/alerts/deliveries${status ? `?status=${status}` : ''}`)).body.data;

describe('notifications', () => {
  it('tell finance, the owner and the log when a threshold is crossed, once per window, escalating at the next', async () => {
    const k = await t.key({ department: 'marketing', user: 'alice' });
    const spend = () => t.openai(k.secret).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Draft a long campaign plan with many sections.' }], max_tokens: 60 });
    // Spend until the 50% threshold is crossed, then on past 75% and 90%.
    await eventually(async () => {
      await spend();
      await t.settled();
      expect((await deliveries()).filter((d) => d.event.id.endsWith('|90'))).not.toHaveLength(0);
    }, 20_000);
    await eventually(async () => expect((await deliveries('sent')).length).toBe((await deliveries()).length));

    // Finance's webhook: signed, one per threshold, severities rising.
    const hooks = received.filter((r) => r.path === '/hook').map((r) => ({ ...r, json: JSON.parse(r.body) as { id: string; severity: string; text: string; budget: string } }));
    expect(hooks.map((h) => h.json.severity)).toEqual(['info', 'warning', 'critical']);
    for (const h of hooks) {
      const [ts, v1] = String(h.headers['x-bursar-signature']).split(',').map((p) => p.split('=')[1]!);
      expect(v1).toBe(createHmac('sha256', 'whsec-test').update(`${ts}.${h.body}`).digest('hex'));
      expect(h.headers['x-bursar-event']).toBe('threshold');
    }
    expect(hooks[0]!.json.text).toMatch(/Budget "marketing-month" has used \$0\.00\d+ of \$0\.002 \(50% threshold crossed/);
    // The owner (alice, also marketing's manager: one mail each): email and Slack.
    expect(mails.filter((m) => m.to === 'alice@acme.example')).toHaveLength(3);
    expect(mails[0]!.data).toContain('Subject: [Bursar] Budget marketing-month at 50%');
    expect(received.filter((r) => r.path === '/slack').map((r) => (JSON.parse(r.body) as { text: string }).text)).toEqual([
      expect.stringContaining('*Budget marketing-month at 50%*'), expect.stringContaining(':warning: *Budget marketing-month at 75%*'), expect.stringContaining(':rotating_light: *Budget marketing-month at 90%*'),
    ]);
    expect(t.logs.join('')).toContain('(90% threshold crossed');

    // More spending crosses nothing new: no more deliveries.
    const before = (await deliveries()).length;
    await spend();
    await t.settled();
    expect((await deliveries()).length).toBe(before);
  });

  it('try a failing receiver again with backoff, keep it as dead after the last try, and send it again on request', async () => {
    failing = true;
    // An override request is an event for finance's webhook too.
    expect((await t.admin('POST', '/budgets/marketing-month/overrides', { amount: '1.00', reason: 'launch week' })).status).toBe(201);
    const dead = await eventually(async () => {
      const d = (await deliveries('dead')).find((x) => x.event.kind === 'override_requested' && x.channel === 'finance-hook');
      expect(d).toBeDefined();
      return d!;
    });
    expect(dead).toMatchObject({ attempts: 3, last_error: expect.stringContaining('HTTP 500') });
    const audit = (await t.admin<{ data: { action: string; details: { delivery?: string } }[] }>('GET', '/audit?target=budget:marketing-month&limit=1000')).body.data.filter((e) => e.details.delivery === dead.id).map((e) => e.action);
    expect(audit).toEqual(['delivery.attempt', 'delivery.retry', 'delivery.attempt', 'delivery.retry', 'delivery.attempt', 'delivery.dead']);

    failing = false;
    expect((await t.admin<{ status: string }>('POST', `/alerts/deliveries/${dead.id}/retry`)).body.status).toBe('pending');
    await eventually(async () => expect((await deliveries('sent')).some((d) => d.id === dead.id)).toBe(true));
    expect(received.some((r) => r.path === '/hook' && r.body.includes('launch week'))).toBe(true);
  });

  it('warn finance when a budget is projected to pass its limit before the window ends, naming the day, once', async () => {
    const k = await t.key({ department: 'support' });
    for (let i = 0; i < 2; i++) await t.openai(k.secret).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Reply to a customer.' }], max_tokens: 40 });
    await t.settled();
    const status = (await t.admin<{ window: { start: string; end: string }; members: { used: { amount: string } }[] }>('GET', '/budgets/support-month')).body;
    const start = Date.parse(status.window.start);
    const len = Date.parse(status.window.end) - start;
    const used = Number(status.members[0]!.used.amount);
    // A day and a half into the month at this spend, the pace runs past the limit before the end.
    const at = start + 1.5 * 86_400_000;
    expect(used * (len / (at - start))).toBeGreaterThan(0.01);
    expect(await t.b.budgets.forecast(at)).toBe(1);
    expect(await t.b.budgets.forecast(at + 3_600_000)).toBe(0); // once per window
    const hook = await eventually(() => {
      const h = received.find((r) => r.path === '/hook' && r.body.includes('"forecast"'));
      expect(h).toBeDefined();
      return JSON.parse(h!.body) as { severity: string; title: string; details: { exceeds_on: string; projected: string } };
    });
    const day = new Date(start + (at - start) * (0.01 / used)).toISOString().slice(0, 10);
    expect(hook).toMatchObject({ severity: 'warning', title: `Budget support-month projected to run out on ${day}`, details: { exceeds_on: day } });
  });

  it('write each owner a weekly digest in plain words and numbers, and send it on their channels', async () => {
    const preview = (await t.admin<{ user: string; text: string }>('GET', '/alerts/digest?user=alice')).body;
    expect(preview.user).toBe('alice');
    expect(preview.text).toMatch(/^Weekly AI spend for alice, week to \d{4}-\d{2}-\d{2}\./);
    expect(preview.text).toMatch(/Budget "Marketing" \(.+\): \$0\.0\d+ spent of \$0\.002 \(\d+(\.\d)?%\); at this pace .+ by the window's end, past the limit\./);
    expect(preview.text).toMatch(/This week \$0\.0\d+/);
    expect(preview.text).toContain('Top users: alice');
    expect((await t.admin<{ error: { code: string } }>('GET', '/alerts/digest?user=bob')).body.error.code).toBe('not_found');
    const before = mails.length;
    expect((await t.admin<{ queued: number }>('POST', '/alerts/digest', {})).body.queued).toBeGreaterThan(0);
    await eventually(() => expect(mails.length).toBeGreaterThan(before));
    const mail = mails.at(-1)!;
    expect(mail.to).toBe('alice@acme.example');
    expect(mail.data).toContain('Subject: [Bursar] Weekly AI spend, week of');
    expect(mail.data).toContain('Top users: alice');
  });
});
