/**
 * `bursar keys`, `bursar tokens`, `bursar suspend` / `resume`: the credentials and switches
 * of the admin API, from the terminal.
 */
import type { Command } from 'commander';
import { CliError, table, when, type CliContext } from './client.js';

interface KeyRow {
  id: string;
  label: string;
  prefix: string;
  status: string;
  expires_at: number | null;
  attribution: Record<string, string | null>;
  allowed_models: string[] | null;
  secret?: string;
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);

function parseDuration(text: string): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw new CliError(`"${text}" is not a duration such as 90d, 12h, 30m or 45s.`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

function keyTable(keys: readonly KeyRow[]): string {
  return table(
    ['id', 'label', 'prefix', 'status', 'department', 'project', 'user', 'environment', 'expires'],
    keys.map((k) => [k.id, k.label, k.prefix, k.status, k.attribution.department, k.attribution.project, k.attribution.user, k.attribution.environment, when(k.expires_at)]),
  );
}

function shownOnce(k: KeyRow): string {
  return `${keyTable([k])}\n\nsecret (shown once, store it now):\n  ${k.secret}\n`;
}

export function registerAccessCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('virtual keys (bsk_...)');
  keys
    .command('create')
    .description('create a key; its secret is printed once')
    .requiredOption('--label <label>', 'a name people will recognise, e.g. "support-bot-prod"')
    .option('--department <id>').option('--team <id>').option('--project <id>')
    .option('--user <id>', 'owner user').option('--application <name>').option('--environment <env>', 'production, staging, sandbox...')
    .option('--expires <datetime>', 'ISO date-time, e.g. 2026-12-31T23:59:59Z')
    .option('--expires-in <duration>', 'e.g. 90d, 12h')
    .option('--models <globs>', 'allowed models, comma-separated globs (gpt-4o*,claude-*)')
    .option('--route <id>', 'default route: calls whose model names no route go by it')
    .option('--require <fields>', 'headers each call must carry: workflow,agent,agent_run,user_group,user,tags')
    .option('--act-for-departments <ids>', 'departments this key may attribute calls to (* for any)')
    .option('--act-for-users <ids>', 'users this key may attribute calls to (* for any)')
    .option('--tag <k=v...>', 'default tags on every call', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (o: Record<string, string | string[] | undefined>) => {
      const body: Record<string, unknown> = { label: o.label };
      for (const f of ['department', 'team', 'project', 'user', 'application', 'environment'] as const) if (o[f]) body[f] = o[f];
      if (o.expires) body.expires_at = o.expires;
      if (o.expiresIn) body.expires_at = new Date(Date.now() + parseDuration(String(o.expiresIn)) * 1000).toISOString();
      if (o.models) body.allowed_models = list(String(o.models));
      if (o.route) body.default_route = o.route;
      if (o.require) body.required_metadata = list(String(o.require));
      if (o.actForDepartments || o.actForUsers) {
        body.act_for = { departments: list(String(o.actForDepartments ?? '')), users: list(String(o.actForUsers ?? '')) };
      }
      if (Array.isArray(o.tag)) body.tags = Object.fromEntries(o.tag.map((t) => t.split('=', 2)));
      const k = await ctx.client().call<KeyRow>('POST', '/keys', body);
      ctx.print(k, () => shownOnce(k));
    });
  keys.command('list').description('keys you can see').action(async () => {
    const r = await ctx.client().call<{ data: KeyRow[] }>('GET', '/keys');
    ctx.print(r.data, () => keyTable(r.data));
  });
  keys.command('show <ref>').description('one key, by id or label').action(async (ref: string) => {
    const k = await ctx.client().call<KeyRow>('GET', `/keys/${encodeURIComponent(ref)}`);
    ctx.print(k, () => JSON.stringify(k, null, 2));
  });
  keys
    .command('rotate <ref>')
    .description('issue a new secret; the old one stops working (after --grace)')
    .option('--grace <duration>', 'keep the old secret working for this long, e.g. 1h')
    .action(async (ref: string, o: { grace?: string }) => {
      const k = await ctx.client().call<KeyRow>('POST', `/keys/${encodeURIComponent(ref)}/rotate`, { grace_seconds: o.grace ? parseDuration(o.grace) : 0 });
      ctx.print(k, () => shownOnce(k));
    });
  for (const action of ['revoke', 'suspend', 'resume'] as const) {
    keys
      .command(`${action} <ref>`)
      .description(action === 'revoke' ? 'revoke a key for good (next call is refused)' : action === 'suspend' ? 'stop a key until resumed' : 'resume a suspended key')
      .option('--reason <text>', 'recorded in the audit log')
      .action(async (ref: string, o: { reason?: string }) => {
        const k = await ctx.client().call<KeyRow>('POST', `/keys/${encodeURIComponent(ref)}/${action}`, { reason: o.reason ?? '' });
        ctx.print(k, () => keyTable([k]));
      });
  }

  const tokens = program.command('tokens').description('admin tokens (bat_...) for people and scripts');
  tokens
    .command('create')
    .requiredOption('--label <label>')
    .requiredOption('--role <role>', 'admin, finance, manager or member')
    .option('--department <id>', 'for a manager: the department they manage')
    .option('--user <id>', 'for a member: who they are')
    .action(async (o: { label: string; role: string; department?: string; user?: string }) => {
      const t = await ctx.client().call<{ id: string; secret: string; role: string }>('POST', '/tokens', o);
      ctx.print(t, () => `${t.id} (${t.role})\nsecret (shown once, store it now):\n  ${t.secret}\n`);
    });
  tokens.command('list').action(async () => {
    const r = await ctx.client().call<{ data: { id: string; label: string; role: string; department: string | null; user: string | null; revoked_at: number | null }[] }>('GET', '/tokens');
    ctx.print(r.data, () => table(['id', 'label', 'role', 'department', 'user', 'revoked'], r.data.map((t) => [t.id, t.label, t.role, t.department, t.user, when(t.revoked_at)])));
  });
  tokens.command('revoke <id>').action(async (id: string) => {
    const t = await ctx.client().call('POST', `/tokens/${encodeURIComponent(id)}/revoke`, {});
    ctx.print(t, () => `revoked ${id}`);
  });

  program
    .command('suspensions')
    .description('the workflows and agents suspended now, by whom and why')
    .action(async () => {
      const r = await ctx.client().call<{ data: { kind: string; name: string; reason: string; since: number; by: string }[] }>('GET', '/suspensions');
      ctx.print(r.data, () => (r.data.length ? table(['kind', 'name', 'since', 'by', 'reason'], r.data.map((s) => [s.kind, s.name, when(s.since), s.by, s.reason])) : 'nothing is suspended'));
    });
  for (const verb of ['suspend', 'resume'] as const) {
    program
      .command(`${verb} <kind> <name>`)
      .description(`${verb} a workflow or an agent everywhere, at once`)
      .option('--reason <text>', 'recorded in the audit log')
      .action(async (kind: string, name: string, o: { reason?: string }) => {
        const path = `/suspensions/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`;
        const r = await ctx.client().call(verb === 'suspend' ? 'POST' : 'DELETE', path, { reason: o.reason ?? '' });
        ctx.print(r ?? { kind, name, suspended: verb === 'suspend' }, () => `${kind} "${name}" ${verb === 'suspend' ? 'suspended' : 'resumed'}`);
      });
  }
}
