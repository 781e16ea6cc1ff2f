/**
 * Notifications: a budget event (a threshold crossed, an override asked for) reaches the people
 * it concerns on their channels. Finance hears every budget; a budget's owner and the managers
 * of its departments hear theirs; a user hears their own cap. Each (event, channel, recipient)
 * is one delivery, kept as a config record until it is sent, so that a restart or another
 * replica carries on where this one stopped: tried at once, again after a backoff that doubles,
 * and after the last try kept as dead (the dead letters), visible through the API with the error.
 *
 * An event is recorded once per id in the shared event log (a threshold fires once per window),
 * and only the replica whose record was the first fans it out: no alert storms.
 */
import { createHash, createHmac } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { BudgetEvent, ConfigStore, EventLog, EventQuery } from '../core/ports.js';
import type { OrgTree } from '../core/org.js';
import type { ResolvedChannel, ResolvedNotifications } from '../config/load.js';
import type { Logger } from '../telemetry/log.js';
import type { BudgetIndex } from '../budgets/budget-index.js';
import { assertRole, type Actor } from '../access/actor.js';
import { BursarError } from '../core/errors.js';

export const DELIVERY_KIND = 'delivery';
const KEEP_SENT_MS = 7 * 86_400_000;

export interface Delivery {
  readonly event: BudgetEvent;
  readonly channel: string;
  /** An email address, for email channels; null for the others. */
  readonly to: string | null;
  /** Who it is for: finance, owner:<user>, manager:<user>, user:<user>. */
  readonly audience: string;
  readonly status: 'pending' | 'sent' | 'dead';
  readonly attempts: number;
  readonly next_at: number;
  readonly last_error: string | null;
  readonly sent_at: number | null;
}

/** Each anomaly kind in words, for its alert's title and text. */
const ANOMALY_WORDS: Readonly<Record<string, string>> = {
  spend: 'spend', output_ratio: 'an output-to-input token ratio', failures: 'a failed-call share', premium_share: 'a premium-tier share of spend',
  off_hours: 'off-hours spend', agent_loops: 'an agent run length', unproductive: 'a share of calls without accepted output',
};

/** How an event reads for a person: one line of text. */
export function describe(e: BudgetEvent): { title: string; severity: 'info' | 'warning' | 'critical'; text: string } {
  const d = e.details as Record<string, unknown>;
  if (e.kind === 'threshold') {
    const at = Number(d.threshold);
    const severity = at >= 90 ? 'critical' : at >= 75 ? 'warning' : 'info';
    const who = d.member ? ` for ${String(d.member)}` : '';
    return { severity, title: `Budget ${e.budget} at ${at}%`, text: `Budget "${e.budget}"${who} has used ${String(d.used)} of ${String(d.limit)} (${at}% threshold crossed, ${String(d.window)}).` };
  }
  if (e.kind === 'forecast') {
    const who = d.member ? ` for ${String(d.member)}` : '';
    return { severity: 'warning', title: `Budget ${e.budget} projected to run out on ${String(d.exceeds_on)}`, text: `Budget "${e.budget}"${who} has used ${String(d.used)} of ${String(d.limit)} so far (${String(d.window)}); at this pace it reaches its limit on ${String(d.exceeds_on)} and ${String(d.projected)} by the window's end.` };
  }
  if (e.kind === 'anomaly') {
    const what = ANOMALY_WORDS[String(d.metric)] ?? String(d.metric);
    const spend = d.metric === 'spend' ? `spent ${String(d.value)} ${String(d.currency)}` : `had ${what} of ${String(d.value)}`;
    const note = d.note ? ` (${String(d.note)})` : '';
    return { severity: 'warning', title: `Unusual ${what} in ${String(d.department)} on ${String(d.day)}`, text: `Department "${String(d.department)}" ${spend} on ${String(d.day)}${note}, against a usual ${String(d.baseline)} (${String(d.score)} spreads above). Look at its workflows and users: bursar anomalies --metric ${String(d.metric)} --by workflow.` };
  }
  if (e.kind === 'digest') return { severity: 'info', title: `Weekly AI spend, week of ${String(d.week)}`, text: String(d.text) };
  if (e.kind === 'override_requested') {
    return { severity: 'info', title: `Override requested on ${e.budget}`, text: `${String(d.requested_by)} asks for ${String(d.amount)} more on budget "${e.budget}": ${String(d.reason)}. Approve or deny: bursar overrides approve|deny ${String(d.override)}.` };
  }
  if (e.kind === 'reserve_release_requested') {
    return { severity: 'info', title: `Reserve release requested on ${e.budget}`, text: `${String(d.requested_by)} asks to release ${String(d.amount)} of the contingency reserve of budget "${e.budget}": ${String(d.reason)}. Approve or deny: bursar reserves approve|deny ${String(d.reserve_release)}.` };
  }
  return { severity: 'info', title: `${e.kind} on ${e.budget}`, text: `${e.kind} on budget "${e.budget}": ${JSON.stringify(d)}` };
}

export interface NotifierDeps {
  readonly store: ConfigStore;
  readonly config: ResolvedNotifications;
  readonly org: OrgTree;
  readonly budgets: BudgetIndex;
  readonly log: Logger;
  readonly now?: () => number;
}

export class Notifier {
  private readonly channels: Map<string, ResolvedChannel>;
  private readonly mailers = new Map<string, Transporter>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly d: NotifierDeps) {
    this.channels = new Map(d.config.channels.map((c) => [c.id, c]));
  }

  private now(): number {
    return this.d.now?.() ?? Date.now();
  }

  /** An event log that fans each first-recorded event out to its recipients. */
  wrap(events: EventLog): EventLog {
    return {
      record: async (e) => {
        const fresh = await events.record(e);
        if (fresh) await this.publish(e).catch((err: unknown) => this.d.log.error({ err, event: e.id }, 'queueing notifications failed'));
        return fresh;
      },
      list: (q: EventQuery) => events.list(q),
    };
  }

  /** An event for one owner alone (their weekly digest), on the owners' channels. */
  publishTo(e: BudgetEvent, user: string): Promise<number> {
    return this.queue(e, [{ audience: `owner:${user}`, channels: this.d.config.owners.channels, email: this.d.org.users.get(user)?.email ?? null }]);
  }

  /** One delivery per channel and recipient of the event, queued to go at once. */
  async publish(e: BudgetEvent): Promise<number> {
    const budget = this.d.budgets.get(e.budget);
    const targets: { audience: string; channels: readonly string[]; email: string | null }[] = [];
    const email = (user: string | null) => (user ? (this.d.org.users.get(user)?.email ?? null) : null);
    for (const addr of this.d.config.finance.emails) targets.push({ audience: 'finance', channels: this.d.config.finance.channels, email: addr });
    if (this.d.config.finance.emails.length === 0) targets.push({ audience: 'finance', channels: this.d.config.finance.channels, email: null });
    const owners = new Set<string>();
    if (budget?.owner) owners.add(budget.owner);
    const depts = budget ? [budget.spec.scope.department].flat().filter((x): x is string => typeof x === 'string') : [];
    for (const dept of depts) {
      const m = this.d.org.departments.get(dept)?.manager;
      if (m) owners.add(m);
    }
    // An event about a department (an anomaly) goes to its manager.
    const about = (e.details as { department?: unknown }).department;
    if (typeof about === 'string') {
      const m = this.d.org.departments.get(about)?.manager;
      if (m) owners.add(m);
    }
    for (const u of owners) targets.push({ audience: `owner:${u}`, channels: this.d.config.owners.channels, email: email(u) });
    const member = (e.details as { member?: unknown }).member;
    if (budget?.per === 'user' && typeof member === 'string') targets.push({ audience: `user:${member}`, channels: this.d.config.users.channels, email: email(member) });
    return this.queue(e, targets);
  }

  private async queue(e: BudgetEvent, targets: readonly { audience: string; channels: readonly string[]; email: string | null }[]): Promise<number> {
    const now = this.now();
    let n = 0;
    const seen = new Set<string>();
    for (const t of targets) {
      for (const id of t.channels) {
        const channel = this.channels.get(id);
        if (!channel) continue;
        const to = channel.type === 'email' ? t.email : null;
        if (channel.type === 'email' && to === null) continue; // no address to write to
        const key = `${e.id}|${id}|${to ?? ''}`;
        if (seen.has(key)) continue; // the same webhook once per event, whoever it is for
        seen.add(key);
        const delivery: Delivery = { event: e, channel: id, to, audience: t.audience, status: 'pending', attempts: 0, next_at: now, last_error: null, sent_at: null };
        const rid = `dlv_${createHash('sha256').update(key).digest('base64url').slice(0, 24)}`;
        try {
          await this.d.store.write({ kind: DELIVERY_KIND, id: rid, body: delivery as unknown as Record<string, unknown>, expectVersion: 0 }, { actor: 'system', action: 'delivery.queue', target: `budget:${e.budget}`, details: { event: e.id, channel: id } });
          n++;
        } catch (err) {
          if ((err as { code?: string }).code !== 'conflict') throw err; // queued already
        }
      }
    }
    if (n) this.kick();
    return n;
  }

  /** Sends what is due every `everyMs` (and at once after a publish). */
  start(everyMs = 1000): void {
    this.timer = setInterval(() => this.kick(), everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    for (const m of this.mailers.values()) m.close();
  }

  /** Runs one dispatch, unless one is running. */
  kick(): Promise<void> {
    this.running ??= this.dispatch().catch((err: unknown) => this.d.log.error({ err }, 'sending notifications failed')).finally(() => (this.running = null));
    return this.running;
  }

  /** The deliveries: pending, sent and dead, newest first. */
  async deliveries(status?: string): Promise<({ id: string } & Delivery)[]> {
    return (await this.d.store.list(DELIVERY_KIND))
      .map((r) => ({ id: r.id, ...(r.body as unknown as Delivery) }))
      .filter((x) => !status || x.status === status)
      .sort((a, b) => b.event.ts - a.event.ts || a.id.localeCompare(b.id));
  }

  /** Sends a dead delivery again (after its channel was fixed): pending, its tries counted afresh. */
  async retry(id: string, actor: Actor): Promise<{ id: string } & Delivery> {
    assertRole(actor, ['admin', 'finance'], 'retry a notification');
    const r = await this.d.store.get(DELIVERY_KIND, id);
    if (!r) throw new BursarError('not_found', `No delivery "${id}"; list them with \`bursar alerts deliveries\`.`);
    const dl = r.body as unknown as Delivery;
    if (dl.status !== 'dead') throw new BursarError('conflict', `Delivery "${id}" is ${dl.status}; only dead ones are sent again.`);
    const next: Delivery = { ...dl, status: 'pending', attempts: 0, next_at: this.now() };
    await this.d.store.write({ kind: DELIVERY_KIND, id, body: next as unknown as Record<string, unknown>, expectVersion: r.version }, { actor: actor.label, action: 'delivery.retry', target: `budget:${dl.event.budget}`, details: { delivery: id, channel: dl.channel } });
    this.kick();
    return { id, ...next };
  }

  /** Every pending delivery that is due: claimed (a version check, so one replica sends it), sent, and marked. */
  private async dispatch(): Promise<void> {
    const now = this.now();
    const all = await this.d.store.list(DELIVERY_KIND);
    // Sent deliveries are kept a week (their audit entries stay), so that the list stays short.
    for (const r of all) {
      const dl = r.body as unknown as Delivery;
      if (dl.status === 'sent' && dl.sent_at !== null && dl.sent_at < now - KEEP_SENT_MS) {
        await this.d.store.write({ kind: DELIVERY_KIND, id: r.id, body: null, expectVersion: r.version }, { actor: 'system', action: 'delivery.prune', target: `budget:${dl.event.budget}`, details: { delivery: r.id } }).catch(() => {});
      }
    }
    // In the order the events happened (a batch that crossed 75% and 90% tells them in that order).
    const due = all
      .filter((r) => (r.body as unknown as Delivery).status === 'pending' && (r.body as unknown as Delivery).next_at <= now)
      .sort((a, b) => {
        const x = (a.body as unknown as Delivery).event;
        const y = (b.body as unknown as Delivery).event;
        return x.ts - y.ts || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
      });
    for (const r of due) {
      const dl = r.body as unknown as Delivery;
      const channel = this.channels.get(dl.channel);
      let error: string | null = null;
      // Claim: push next_at out first, so that another replica passes it by while this one sends.
      const claimed: Delivery = { ...dl, next_at: now + 60_000 };
      try {
        await this.d.store.write({ kind: DELIVERY_KIND, id: r.id, body: claimed as unknown as Record<string, unknown>, expectVersion: r.version }, { actor: 'system', action: 'delivery.attempt', target: `budget:${dl.event.budget}`, details: { delivery: r.id, channel: dl.channel, attempt: dl.attempts + 1 } });
      } catch {
        continue; // another replica has it
      }
      try {
        if (!channel) throw new Error(`channel "${dl.channel}" is no longer configured`);
        await this.send(channel, dl);
      } catch (err) {
        error = err instanceof Error ? err.message : String(err);
      }
      const attempts = dl.attempts + 1;
      const { attempts: max, base_ms } = this.d.config.retry;
      const next: Delivery = error === null
        ? { ...dl, status: 'sent', attempts, sent_at: this.now(), last_error: null }
        : attempts >= max
          ? { ...dl, status: 'dead', attempts, last_error: error }
          : { ...dl, attempts, next_at: this.now() + base_ms * 2 ** (attempts - 1), last_error: error };
      if (next.status === 'dead') this.d.log.error({ delivery: r.id, channel: dl.channel, event: dl.event.id, error }, 'a notification could not be delivered; it is kept as dead');
      await this.d.store.write(
        { kind: DELIVERY_KIND, id: r.id, body: next as unknown as Record<string, unknown>, expectVersion: r.version + 1 },
        { actor: 'system', action: `delivery.${next.status === 'pending' ? 'retry' : next.status}`, target: `budget:${dl.event.budget}`, details: { delivery: r.id, channel: dl.channel, attempts, ...(error ? { error } : {}) } },
      );
    }
  }

  private async send(c: ResolvedChannel, dl: Delivery): Promise<void> {
    const e = dl.event;
    const { title, severity, text } = describe(e);
    switch (c.type) {
      case 'log':
        this.d.log.warn({ event: e.id, kind: e.kind, budget: e.budget, severity, audience: dl.audience }, text);
        return;
      case 'webhook': {
        const body = JSON.stringify({ id: e.id, kind: e.kind, budget: e.budget, ts: new Date(e.ts).toISOString(), severity, title, text, details: e.details });
        const t = Math.floor(this.now() / 1000);
        const sig = createHmac('sha256', c.secret.reveal()).update(`${t}.${body}`).digest('hex');
        await post(c.url, body, { 'x-bursar-event': e.kind, 'x-bursar-delivery': dl.event.id, 'x-bursar-signature': `t=${t},v1=${sig}` });
        return;
      }
      case 'slack':
        await post(c.url.reveal(), JSON.stringify({ text: `${severity === 'critical' ? ':rotating_light: ' : severity === 'warning' ? ':warning: ' : ''}*${title}*\n${text}` }), {});
        return;
      case 'email': {
        let mailer = this.mailers.get(c.id);
        if (!mailer) {
          // Loaded on the first e-mail: most installations send none.
          const nodemailer = (await import('nodemailer')).default;
          mailer = nodemailer.createTransport({
            host: c.smtp.host, port: c.smtp.port, secure: c.smtp.secure, connectionTimeout: 5000, greetingTimeout: 5000,
            ...(c.smtp.user ? { auth: { user: c.smtp.user, pass: c.smtp.password?.reveal() ?? '' } } : {}),
            ...(c.smtp.secure ? {} : { ignoreTLS: true }),
          });
          this.mailers.set(c.id, mailer);
        }
        await mailer.sendMail({ from: c.from, to: dl.to!, subject: `[Bursar] ${title}`, text: `${text}\n\nEvent ${e.id} at ${new Date(e.ts).toISOString()}.` });
        return;
      }
    }
  }
}

/** POSTs JSON; anything but a 2xx within 5 s is a failure. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, redirect: 'manual', signal: AbortSignal.timeout(5000) });
  await res.body?.cancel();
  if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status} from ${new URL(url).host}`);
}
