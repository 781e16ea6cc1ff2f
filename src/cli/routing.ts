/**
 * `bursar routes`, `bursar workflows` and `bursar exceptions`: routes (models by tier), the
 * use-case register, and approved exceptions to a route's default tier, through the admin API.
 */
import type { Command } from 'commander';
import { decisionCommands, readSpec, table, type CliContext } from './client.js';

export function registerRoutingCommands(program: Command, ctx: CliContext): void {
  const routes = program.command('routes').description('routes: models by tier, fallbacks, ladder (docs/routing.md)');
  routes
    .command('list', { isDefault: true })
    .description('every route, from bursar.yaml and the admin API')
    .action(async () => {
      type Route = { id: string; tiers: Record<string, string | { model: string; weight: number }[]>; default_tier: string; fallbacks: string[]; downgrade: { at: number; to: string }[]; owner?: string; managed_by: string };
      const r = await ctx.client().call<{ data: Route[] }>('GET', '/routes');
      ctx.print(r.data, () =>
        table(['route', 'tiers (strongest first)', 'default', 'fallbacks', 'downgrade', 'owner', 'from'], r.data.map((x) => [
          x.id, Object.entries(x.tiers).map(([t, m]) => `${t}: ${typeof m === 'string' ? m : m.map((d) => `${d.model} x${d.weight}`).join(', ')}`).join('\n'), x.default_tier, x.fallbacks.join(', '),
          x.downgrade.map((d) => `${d.at}% -> ${d.to}`).join(', '), x.owner ?? '', x.managed_by === 'api' ? 'api' : 'bursar.yaml',
        ])),
      );
    });
  routes.command('show <id>').description('one route, as declared').action(async (id: string) => {
    console.log(JSON.stringify(await ctx.client().call('GET', `/routes/${encodeURIComponent(id)}`), null, 2));
  });
  routes
    .command('create <file>')
    .description("create a route from a YAML or JSON file (the fields of bursar.yaml's routes:)")
    .action(async (file: string) => {
      const r = await ctx.client().call<{ id: string }>('POST', '/routes', readSpec(file));
      ctx.print(r, () => `created route ${r.id}; call it as model "route:${r.id}"`);
    });
  routes
    .command('set <id> <file>')
    .description('replace a route made through the API with the spec in a file')
    .action(async (id: string, file: string) => {
      const r = await ctx.client().call<{ id: string }>('PUT', `/routes/${encodeURIComponent(id)}`, readSpec(file));
      ctx.print(r, () => `changed route ${r.id}`);
    });
  routes.command('remove <id>').description('remove a route made through the API').action(async (id: string) => {
    await ctx.client().call('DELETE', `/routes/${encodeURIComponent(id)}`);
    ctx.print({ removed: id }, () => `removed route ${id}`);
  });

  const workflows = program.command('workflows').description('the use-case register: owner, department, data, expected spend and outcome of each workflow');
  workflows
    .command('list', { isDefault: true })
    .description('every registered workflow')
    .action(async () => {
      type Row = { id: string; owner: string; department: string; data_classes: string[]; expected_monthly?: { amount: string; currency: string }; outcome: string; route?: string; managed_by: string };
      const r = await ctx.client().call<{ data: Row[] }>('GET', '/workflows');
      ctx.print(r.data, () =>
        table(['workflow', 'owner', 'department', 'data classes', 'expected / month', 'route', 'outcome'], r.data.map((w) => [
          w.id, w.owner, w.department, w.data_classes.join(', ') || 'any', w.expected_monthly ? `${w.expected_monthly.amount} ${w.expected_monthly.currency}` : '', w.route ?? '', w.outcome,
        ])),
      );
    });
  workflows.command('show <id>').description('one workflow: its entry, its spend this month and the budgets that cap it').action(async (id: string) => {
    console.log(JSON.stringify(await ctx.client().call('GET', `/workflows/${encodeURIComponent(id)}`), null, 2));
  });
  workflows
    .command('register <file>')
    .description("register a workflow from a YAML or JSON file (the fields of bursar.yaml's workflows:)")
    .action(async (file: string) => {
      const w = await ctx.client().call<{ id: string }>('POST', '/workflows', readSpec(file));
      ctx.print(w, () => `registered workflow ${w.id}; its calls send x-bursar-workflow: ${w.id}`);
    });
  workflows
    .command('set <id> <file>')
    .description('replace a workflow registered through the API with the entry in a file')
    .action(async (id: string, file: string) => {
      const w = await ctx.client().call<{ id: string }>('PUT', `/workflows/${encodeURIComponent(id)}`, readSpec(file));
      ctx.print(w, () => `changed workflow ${w.id}`);
    });
  workflows.command('remove <id>').description('remove a workflow registered through the API').action(async (id: string) => {
    await ctx.client().call('DELETE', `/workflows/${encodeURIComponent(id)}`);
    ctx.print({ removed: id }, () => `removed workflow ${id}`);
  });

  const exceptions = program.command('exceptions').description('approved exceptions: a stronger tier than a route\'s default, for some calls, for a while');
  exceptions
    .command('request <route>')
    .requiredOption('--tier <tier>', 'the strongest tier it allows')
    .requiredOption('--reason <text>', 'why this work needs it; the approver reads it')
    .option('--key <id>').option('--user <id>').option('--workflow <id>').option('--agent <id>').option('--project <id>').option('--department <id>')
    .option('--expires <datetime>', 'ISO date-time (default: 30 days from now)')
    .description('ask for an exception, for the calls of a key, user, workflow, agent, project or department (all named must match)')
    .action(async (route: string, o: Record<string, string | undefined>) => {
      const subjects = ['key', 'user', 'workflow', 'agent', 'project', 'department'].filter((s) => o[s] !== undefined);
      const body = { route, tier: o.tier, reason: o.reason, for: Object.fromEntries(subjects.map((s) => [s, o[s]])), ...(o.expires ? { expires_at: o.expires } : {}) };
      const r = await ctx.client().call<{ id: string; state: string }>('POST', '/exceptions', body);
      ctx.print(r, () => `exception ${r.id} ${r.state}; the route's owner, finance or an admin approves it with: bursar exceptions approve ${r.id}`);
    });
  exceptions
    .command('list', { isDefault: true })
    .option('--route <id>')
    .description('the exceptions you may see: those you asked for, and those you decide')
    .action(async (o: { route?: string }) => {
      type Row = { id: string; route: string; tier: string; for: Record<string, string>; state: string; requested_by: string; reason: string; expires_at: string };
      const r = await ctx.client().call<{ data: Row[] }>('GET', `/exceptions${o.route ? `?route=${encodeURIComponent(o.route)}` : ''}`);
      ctx.print(r.data, () => table(['id', 'route', 'tier', 'for', 'state', 'requested by', 'reason', 'expires'], r.data.map((x) => [
        x.id, x.route, x.tier, Object.entries(x.for).map(([k, v]) => `${k}=${v}`).join(', '), x.state, x.requested_by, x.reason, x.expires_at,
      ])));
    });
  decisionCommands(exceptions, ctx, 'exception', 'exceptions');
}
