/**
 * `bursar whoami`, `bursar org` and `bursar openapi`: who the token is, the organisation it
 * sees, and the API's OpenAPI document for generating clients.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Actor } from '../access/actor.js';
import type { Department, Project, Team, User } from '../core/org.js';
import { table, type CliContext } from './client.js';

export function registerMetaCommands(program: Command, ctx: CliContext): void {
  program
    .command('whoami')
    .description('the admin token in use: its label, role, and the department or user it is scoped to')
    .action(async () => {
      const a = await ctx.client().call<Actor>('GET', '/whoami');
      ctx.print(a, () => `${a.label}: ${a.role}${a.department ? ` of ${a.department}` : ''}${a.user ? ` (user ${a.user})` : ''}`);
    });

  program
    .command('org')
    .description('the organisation: departments with their cost centres, teams, projects with their codes, users')
    .action(async () => {
      const o = await ctx.client().call<{ departments: Department[]; teams: Team[]; projects: Project[]; users: User[] }>('GET', '/org');
      ctx.print(o, () => [
        table(['department', 'name', 'cost centre', 'manager', 'currency'], o.departments.map((d) => [d.id, d.name, d.costCentre, d.manager, d.currency ?? ''])),
        table(['project', 'name', 'code', 'department', 'team'], o.projects.map((p) => [p.id, p.name, p.code, p.department, p.team])),
        table(['user', 'name', 'department', 'team', 'groups'], o.users.map((u) => [u.id, u.name, u.department, u.team, u.groups.join(', ')])),
        `${o.departments.length} departments, ${o.teams.length} teams, ${o.projects.length} projects, ${o.users.length} users`,
      ].join('\n'));
    });

  program
    .command('openapi')
    .description('the OpenAPI 3.1 document of the gateway and the admin API (the reference page is /docs/api)')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (o: { output?: string }) => {
      const text = `${JSON.stringify(await ctx.client().call('GET', '/openapi.json'), null, 2)}\n`;
      if (o.output) writeFileSync(o.output, text);
      else process.stdout.write(text);
    });
}
