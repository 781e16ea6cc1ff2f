/**
 * Every command that works through the admin API, in one place, so that a test can walk them
 * against the API's catalogue (each operation names the command that does the same).
 */
import type { Command } from 'commander';
import type { CliContext } from './client.js';
import { registerAccessCommands } from './access.js';
import { registerReportCommands } from './reports.js';
import { registerRoutingCommands } from './routing.js';
import { registerBudgetCommands } from './budgets.js';
import { registerBillingCommands } from './billing.js';
import { registerMetaCommands } from './meta.js';
import { registerPlanningCommands } from './planning.js';

export function registerApiCommands(program: Command, ctx: CliContext): void {
  registerMetaCommands(program, ctx);
  registerAccessCommands(program, ctx);
  registerReportCommands(program, ctx);
  registerRoutingCommands(program, ctx);
  registerBudgetCommands(program, ctx);
  registerBillingCommands(program, ctx);
  registerPlanningCommands(program, ctx);
}
