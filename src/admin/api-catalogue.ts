/**
 * Every operation of the admin API under /admin/v1, for its OpenAPI document (openapi.ts):
 * what it does, who may call it, the zod schema its body or query is validated with, and the
 * `bursar` command that does the same. A route added without an entry here fails
 * test/e2e/openapi.test.ts, which names what to add.
 *
 * Bodies and queries use the services' own schemas. A few routes check a field or two by hand
 * (a reason, a note, grace_seconds, report options); their small schemas below describe those
 * checks for the document and are kept beside them here.
 */
import { z } from 'zod';
import type { Role } from '../access/records.js';
import { createKeyInput } from '../access/key-service.js';
import { createTokenInput } from '../access/token-service.js';
import { budgetSpecSchema } from '../budgets/model.js';
import { overrideRequestInput, releaseRequestInput } from '../budgets/raises.js';
import { envelopeSpecSchema, reallocationInput } from '../planning/envelope-model.js';
import { createDecisionInput, updateDecisionInput } from '../planning/reviews.js';
import { routeSpecSchema } from '../routing/model.js';
import { workflowSpecSchema } from '../routing/register.js';
import { exceptionRequestInput } from '../routing/exceptions.js';
import { allocationRuleSchema } from '../billing/rules.js';
import { metricInput, runInput } from '../billing/runs.js';
import { importOptionsSchema } from '../billing/imports.js';
import { reconcileInput } from '../billing/reconcile.js';
import { scenarioInput } from '../reports/scenarios.js';
import { usageInput } from '../reports/usage.js';
import { ANOMALY_KINDS } from '../reports/anomaly-kinds.js';
import { ANOMALY_BY } from '../reports/anomaly-report.js';
import type { ApiOperation } from './openapi.js';

const ANYONE: readonly Role[] = ['admin', 'finance', 'manager', 'member'];
const ADMIN: readonly Role[] = ['admin'];
const FINANCE: readonly Role[] = ['admin', 'finance'];
const MANAGERS: readonly Role[] = ['admin', 'manager'];
const BUDGETERS: readonly Role[] = ['admin', 'finance', 'manager'];

const reason = z.object({ reason: z.string().max(500).optional().describe('recorded in the audit log') });
const note = z.object({ note: z.string().max(1000).optional().describe('recorded with the decision') });
const range = usageInput.pick({ from: true, to: true });
const csvOrJson = z.enum(['json', 'csv']).optional();
/** A map in a query string: `map=proj_a=campaign-ai,proj_b=support-bot`. */
const mapQuery = z.string().optional().describe('provider project or workspace id -> Bursar project: proj_a=campaign-ai,proj_b=support-bot');
const department = z.string().describe('a department, or "unallocated"');

/** The groups of the reference page, in its order. */
export const API_TAGS: Readonly<Record<string, string>> = {
  gateway: 'The OpenAI- and Anthropic-compatible endpoints your SDKs call with a virtual key (docs/api.md#the-gateway)',
  meta: 'This document, and who your token is',
  keys: 'Virtual keys, admin tokens, and suspensions of workflows and agents',
  usage: 'Spend and tokens by any dimension; one ledger line',
  reports: 'Savings, unit economics, corridors, scenarios, anomalies, concentration (docs/outcomes.md)',
  routing: 'Routes, the use-case register, exceptions, the price book and the org tree (docs/routing.md)',
  budgets: 'Budgets, their status, overrides and events (docs/budgets.md)',
  alerts: 'Notifications of budget events, and the weekly digest (docs/alerts.md)',
  audit: 'The append-only, hash-chained audit log',
  planning: 'Quarterly envelopes and the monthly review record (docs/planning.md)',
  billing: 'Imports, reconciliation, allocation runs, statements, journals and FOCUS exports (docs/billing.md)',
};

export const ADMIN_API: readonly ApiOperation[] = [
  // planning (docs/planning.md)
  { method: 'GET', path: '/envelopes', tag: 'planning', summary: 'Quarterly envelopes with each part\'s spend', roles: BUDGETERS, query: z.object({ quarter: z.string().optional(), department: z.string().optional() }), returns: { description: '{data: envelope reports}' }, cli: 'envelopes list' },
  { method: 'GET', path: '/envelopes/:id', tag: 'planning', summary: 'An envelope\'s parts, their spend and reallocations', roles: BUDGETERS, returns: { description: 'The envelope report' }, cli: 'envelopes show' },
  { method: 'POST', path: '/envelopes', tag: 'planning', summary: 'Create an envelope', roles: FINANCE, body: envelopeSpecSchema, returns: { status: 201, description: 'The envelope' }, cli: 'envelopes create' },
  { method: 'PUT', path: '/envelopes/:id', tag: 'planning', summary: 'Change an envelope made through the API', roles: FINANCE, body: envelopeSpecSchema, returns: { description: 'The envelope' }, cli: { none: 'envelopes delete and create' } },
  { method: 'DELETE', path: '/envelopes/:id', tag: 'planning', summary: 'Remove an envelope made through the API', roles: FINANCE, returns: { description: 'Removed', type: 'none' }, cli: 'envelopes delete' },
  { method: 'POST', path: '/envelopes/:id/reallocations', tag: 'planning', summary: 'Move money between an envelope\'s parts mid-quarter, with a reason', roles: BUDGETERS, body: reallocationInput, returns: { status: 201, description: 'The envelope report' }, cli: 'envelopes reallocate' },
  { method: 'GET', path: '/reviews', tag: 'planning', summary: 'The monthly review record', roles: ANYONE, query: z.object({ month: z.string().optional(), kind: z.string().optional(), owner: z.string().optional(), status: z.string().optional(), due: z.string().optional() }), returns: { description: '{data: decisions}' }, cli: 'reviews list' },
  { method: 'GET', path: '/reviews/:id', tag: 'planning', summary: 'One decision', roles: ANYONE, returns: { description: 'The decision' }, cli: 'reviews show' },
  { method: 'POST', path: '/reviews', tag: 'planning', summary: 'Record a decision of a monthly review', roles: BUDGETERS, body: createDecisionInput, returns: { status: 201, description: 'The decision' }, cli: 'reviews add' },
  { method: 'PATCH', path: '/reviews/:id', tag: 'planning', summary: 'Change a decision: status, notes, next review', roles: BUDGETERS, body: updateDecisionInput, returns: { description: 'The decision' }, cli: 'reviews update' },

  { method: 'GET', path: '/openapi.json', tag: 'meta', summary: 'This document', roles: 'public', returns: { description: 'The OpenAPI 3.1 document' }, cli: 'openapi' },
  { method: 'GET', path: '/session/methods', tag: 'meta', summary: "The dashboard's sign-in methods (docs/dashboard.md#signing-in)", roles: 'public', returns: { description: '{token: true, sso: "/auth/oidc/login" or null}' }, cli: { none: 'the CLI signs in with a token' } },
  { method: 'POST', path: '/session', tag: 'meta', summary: 'Sign the dashboard in with an admin token: sets the HttpOnly session cookie', roles: 'public', body: z.object({ token: z.string().min(1).max(256) }), returns: { description: 'Who you are: {label, role, department, user}' }, cli: { none: 'the CLI sends the token on every call' } },
  { method: 'DELETE', path: '/session', tag: 'meta', summary: "Sign the dashboard out: clears the session cookie", roles: 'public', returns: { description: 'Signed out', type: 'none' }, cli: { none: 'the CLI keeps no session' } },
  { method: 'GET', path: '/whoami', tag: 'meta', summary: 'The token\'s role and scope', roles: ANYONE, returns: { description: '{label, role, department, user}' }, cli: 'whoami' },

  // keys and admin tokens
  { method: 'GET', path: '/keys', tag: 'keys', summary: 'Keys you can see (never their secrets or hashes)', roles: ANYONE, returns: { description: '{data: keys}' }, cli: 'keys list' },
  { method: 'POST', path: '/keys', tag: 'keys', summary: 'Create a virtual key; its secret is shown once', roles: MANAGERS, body: createKeyInput, returns: { status: 201, description: 'The key with its secret' }, cli: 'keys create' },
  { method: 'GET', path: '/keys/:ref', tag: 'keys', summary: 'One key, by id or label', roles: ANYONE, returns: { description: 'The key' }, cli: 'keys show' },
  { method: 'POST', path: '/keys/:ref/rotate', tag: 'keys', summary: 'A new secret; the old one works for grace_seconds more', roles: MANAGERS, body: z.object({ grace_seconds: z.int().min(0).max(30 * 86400).optional() }), returns: { description: 'The key with its new secret' }, cli: 'keys rotate' },
  { method: 'POST', path: '/keys/:ref/revoke', tag: 'keys', summary: 'Revoke a key for good', roles: MANAGERS, body: reason, returns: { description: 'The key' }, cli: 'keys revoke' },
  { method: 'POST', path: '/keys/:ref/suspend', tag: 'keys', summary: 'Stop a key until resumed', roles: MANAGERS, body: reason, returns: { description: 'The key' }, cli: 'keys suspend' },
  { method: 'POST', path: '/keys/:ref/resume', tag: 'keys', summary: 'Resume a suspended key', roles: MANAGERS, body: reason, returns: { description: 'The key' }, cli: 'keys resume' },
  { method: 'GET', path: '/tokens', tag: 'keys', summary: 'Admin tokens', roles: ADMIN, returns: { description: '{data: tokens}' }, cli: 'tokens list' },
  { method: 'POST', path: '/tokens', tag: 'keys', summary: 'Issue an admin token; its secret is shown once', roles: ADMIN, body: createTokenInput, returns: { status: 201, description: 'The token with its secret' }, cli: 'tokens create' },
  { method: 'POST', path: '/tokens/:id/revoke', tag: 'keys', summary: 'Revoke an admin token', roles: ADMIN, returns: { description: 'The token' }, cli: 'tokens revoke' },
  { method: 'GET', path: '/suspensions', tag: 'keys', summary: 'Suspended workflows and agents', roles: ANYONE, returns: { description: '{data: suspensions}' }, cli: 'suspensions' },
  { method: 'POST', path: '/suspensions/:kind/:name', tag: 'keys', summary: 'Suspend a workflow or agent everywhere, at once', description: 'kind: workflow or agent.', roles: MANAGERS, body: reason, returns: { status: 201, description: 'The suspension' }, cli: 'suspend' },
  { method: 'DELETE', path: '/suspensions/:kind/:name', tag: 'keys', summary: 'Resume a suspended workflow or agent', roles: MANAGERS, body: reason, returns: { description: 'Resumed', type: 'none' }, cli: 'resume' },

  // usage, ledger, reports
  { method: 'GET', path: '/usage', tag: 'usage', summary: 'Spend and tokens grouped by any dimension', description: 'Any dimension is also a filter: department=support,legal. group_by: comma-separated dimensions, or day, month, status, endpoint, source, currency, tag:<key>. Default: this month so far.', roles: ANYONE, query: usageInput, returns: { description: 'The report, or CSV with format=csv' }, cli: 'usage' },
  { method: 'GET', path: '/ledger/:id', tag: 'usage', summary: 'One ledger line, by request id', roles: ANYONE, returns: { description: 'The line, amounts as exact decimal strings' }, cli: 'ledger' },
  { method: 'GET', path: '/reports/savings', tag: 'reports', summary: 'What routing saved, against the models asked for (docs/routing.md#savings)', roles: ANYONE, query: usageInput.omit({ format: true }), returns: { description: 'The savings report' }, cli: 'savings' },
  { method: 'GET', path: '/reports/unit-economics', tag: 'reports', summary: 'Cost beside outcomes (docs/outcomes.md)', roles: FINANCE, query: usageInput.omit({ format: true }).extend({ idle_minutes: z.int().positive().optional().describe('a run idle this long without an outcome is abandoned; default 30') }), returns: { description: '{from, to, group_by, rows}' }, cli: 'unit-economics' },
  { method: 'GET', path: '/reports/corridors', tag: 'reports', summary: 'Spend as a share of a business metric, against each corridor', roles: FINANCE, query: z.object({ period: z.string().regex(/^\d{4}-\d{2}$/).optional().describe('YYYY-MM; default this month') }), returns: { description: '{data: corridors}' }, cli: 'corridors' },
  { method: 'GET', path: '/reports/agents', tag: 'reports', summary: 'Per agent: runs, calls, refusals, cost per run and the longest run (docs/dashboard.md#views)', roles: ANYONE, query: range, returns: { description: '{from, to, currency, data: agents}' }, cli: 'agents' },
  { method: 'GET', path: '/reports/overview', tag: 'reports', summary: "The dashboard's overview: this month's spend and projection, spend by department and day, each budget's use (docs/dashboard.md#views)", roles: ANYONE, returns: { description: '{month, totals, by_department, trend, budgets}' }, cli: 'overview' },
  { method: 'GET', path: '/reports/scenarios', tag: 'reports', summary: 'Baseline, expansion and breakthrough forecasts', roles: FINANCE, query: scenarioInput, returns: { description: '{data: one per currency}' }, cli: 'scenarios' },
  {
    method: 'GET', path: '/reports/anomalies', tag: 'reports', summary: 'Unusual days or hours, by kind (docs/alerts.md#anomalies)', roles: FINANCE,
    query: z.object({
      by: z.enum(ANOMALY_BY).optional().describe('default department'),
      metric: z.enum(ANOMALY_KINDS).optional().describe('the kind; default spend'),
      interval: z.enum(['day', 'hour']).optional().describe('default day'),
      days: z.int().min(2).max(730).optional().describe('history to learn from (at least 28 for days)'),
      recent: z.int().min(1).optional().describe('report the last points; default 7 days or 24 hours'),
      sensitivity: z.number().positive().optional().describe('spreads from the baseline; default: the kind\'s (bursar.yaml anomalies.sensitivity)'),
    }),
    returns: { description: '{data: anomalies}' }, cli: 'anomalies',
  },
  { method: 'GET', path: '/reports/concentration', tag: 'reports', summary: 'The top spenders\' share and habits', roles: FINANCE, query: range.extend({ by: z.string().optional().describe('user (default), workflow, key, agent, project or application'), top_percent: z.number().positive().max(100).optional().describe('default 5') }), returns: { description: '{data: one per currency}' }, cli: 'concentration' },
  { method: 'GET', path: '/reports/unused-seats', tag: 'reports', summary: 'Seats no one used', roles: FINANCE, query: range, returns: { description: '{data: seats}' }, cli: 'unused-seats' },

  // the use-case register, routes, exceptions
  { method: 'GET', path: '/workflows', tag: 'routing', summary: 'The use-case register', roles: ANYONE, returns: { description: '{data: workflows}' }, cli: 'workflows list' },
  { method: 'GET', path: '/workflows/:id', tag: 'routing', summary: 'One workflow, with its spend this month and the budgets that cap it', roles: ANYONE, returns: { description: 'The workflow' }, cli: 'workflows show' },
  { method: 'POST', path: '/workflows', tag: 'routing', summary: 'Register a workflow', roles: ADMIN, body: workflowSpecSchema, returns: { status: 201, description: 'The workflow' }, cli: 'workflows register' },
  { method: 'PUT', path: '/workflows/:id', tag: 'routing', summary: 'Change a workflow registered through the API', roles: ADMIN, body: workflowSpecSchema, returns: { description: 'The workflow' }, cli: 'workflows set' },
  { method: 'DELETE', path: '/workflows/:id', tag: 'routing', summary: 'Remove a workflow registered through the API', roles: ADMIN, returns: { description: 'Removed', type: 'none' }, cli: 'workflows remove' },
  { method: 'GET', path: '/routes', tag: 'routing', summary: 'The routes in force', roles: ANYONE, returns: { description: '{data: routes}, each with managed_by' }, cli: 'routes list' },
  { method: 'GET', path: '/routes/:id', tag: 'routing', summary: 'One route, as declared', roles: ANYONE, returns: { description: 'The route' }, cli: 'routes show' },
  { method: 'POST', path: '/routes', tag: 'routing', summary: 'Create a route (docs/routing.md)', roles: ADMIN, body: routeSpecSchema, returns: { status: 201, description: 'The route' }, cli: 'routes create' },
  { method: 'PUT', path: '/routes/:id', tag: 'routing', summary: 'Change a route made through the API', roles: ADMIN, body: routeSpecSchema, returns: { description: 'The route' }, cli: 'routes set' },
  { method: 'DELETE', path: '/routes/:id', tag: 'routing', summary: 'Remove a route made through the API', roles: ADMIN, returns: { description: 'Removed', type: 'none' }, cli: 'routes remove' },
  { method: 'POST', path: '/exceptions', tag: 'routing', summary: 'Ask for an exception to a route\'s default tier', roles: ANYONE, body: exceptionRequestInput, returns: { status: 201, description: 'The exception, requested' }, cli: 'exceptions request' },
  { method: 'GET', path: '/exceptions', tag: 'routing', summary: 'Exceptions you asked for, or decide', roles: ANYONE, query: z.object({ route: z.string().optional() }), returns: { description: '{data: exceptions}' }, cli: 'exceptions list' },
  { method: 'POST', path: '/exceptions/:id/approve', tag: 'routing', summary: 'Approve an exception (the route\'s owner, finance, admin)', roles: ANYONE, body: note, returns: { description: 'The exception' }, cli: 'exceptions approve' },
  { method: 'POST', path: '/exceptions/:id/deny', tag: 'routing', summary: 'Deny an exception (the route\'s owner, finance, admin)', roles: ANYONE, body: note, returns: { description: 'The exception' }, cli: 'exceptions deny' },
  { method: 'GET', path: '/prices', tag: 'routing', summary: 'The price book in force', roles: ANYONE, returns: { description: '{data: prices per million units}' }, cli: 'prices' },
  { method: 'GET', path: '/org', tag: 'routing', summary: 'Departments, teams, projects and users', roles: ANYONE, returns: { description: '{departments, teams, projects, users}' }, cli: 'org' },

  // budgets
  { method: 'GET', path: '/budgets', tag: 'budgets', summary: 'Budgets you can see', roles: ANYONE, returns: { description: '{data: budgets}' }, cli: 'budgets list' },
  { method: 'POST', path: '/budgets', tag: 'budgets', summary: 'Create a budget (docs/budgets.md)', roles: BUDGETERS, body: budgetSpecSchema, returns: { status: 201, description: 'The budget' }, cli: 'budgets create' },
  { method: 'GET', path: '/budgets/:id', tag: 'budgets', summary: 'A budget\'s status per member, its overrides and projection', roles: ANYONE, query: z.object({ at: z.iso.datetime({ offset: true }).optional().describe('another window than the current one') }), returns: { description: 'The status' }, cli: 'budgets show' },
  { method: 'PUT', path: '/budgets/:id', tag: 'budgets', summary: 'Change a budget made through the API', description: 'The id is the path\'s.', roles: BUDGETERS, body: budgetSpecSchema, returns: { description: 'The budget' }, cli: 'budgets set' },
  { method: 'DELETE', path: '/budgets/:id', tag: 'budgets', summary: 'Remove a budget made through the API', roles: BUDGETERS, returns: { description: 'Removed', type: 'none' }, cli: 'budgets delete' },
  { method: 'POST', path: '/budgets/:id/graduate', tag: 'budgets', summary: 'End a sandbox or pilot budget, its work continuing under a production one', roles: ANYONE, body: z.object({ to: z.string().describe('the production budget') }), returns: { description: '{graduated, to}' }, cli: 'budgets graduate' },
  { method: 'POST', path: '/budgets/:id/overrides', tag: 'budgets', summary: 'Request a temporary raise', roles: ANYONE, body: overrideRequestInput, returns: { status: 201, description: 'The override, requested' }, cli: 'overrides request' },
  { method: 'GET', path: '/overrides', tag: 'budgets', summary: 'Overrides you can see', roles: ANYONE, query: z.object({ budget: z.string().optional() }), returns: { description: '{data: overrides}' }, cli: 'overrides list' },
  { method: 'POST', path: '/overrides/:id/approve', tag: 'budgets', summary: 'Approve an override (the budget\'s owner, finance, admin)', roles: ANYONE, body: note, returns: { description: 'The override' }, cli: 'overrides approve' },
  { method: 'POST', path: '/overrides/:id/deny', tag: 'budgets', summary: 'Deny an override (the budget\'s owner, finance, admin)', roles: ANYONE, body: note, returns: { description: 'The override' }, cli: 'overrides deny' },
  { method: 'POST', path: '/budgets/:id/reserve-releases', tag: 'budgets', summary: 'Ask to release a budget\'s contingency reserve, whole or part', roles: ANYONE, body: releaseRequestInput, returns: { status: 201, description: 'The release, requested' }, cli: 'reserves release' },
  { method: 'GET', path: '/reserve-releases', tag: 'budgets', summary: 'Reserve releases you can see', roles: ANYONE, query: z.object({ budget: z.string().optional() }), returns: { description: '{data: releases}' }, cli: 'reserves list' },
  { method: 'POST', path: '/reserve-releases/:id/approve', tag: 'budgets', summary: 'Approve a reserve release (the budget\'s owner, finance, admin)', roles: ANYONE, body: note, returns: { description: 'The release' }, cli: 'reserves approve' },
  { method: 'POST', path: '/reserve-releases/:id/deny', tag: 'budgets', summary: 'Deny a reserve release (the budget\'s owner, finance, admin)', roles: ANYONE, body: note, returns: { description: 'The release' }, cli: 'reserves deny' },
  { method: 'GET', path: '/events', tag: 'budgets', summary: 'Budget events: thresholds crossed, overrides requested', roles: ANYONE, query: z.object({ budget: z.string().optional(), since: z.string().optional().describe('ISO date or date-time') }), returns: { description: '{data: events}' }, cli: 'events' },

  // alerts and the audit log
  { method: 'GET', path: '/alerts/deliveries', tag: 'alerts', summary: 'Notifications of budget events and their state', roles: FINANCE, query: z.object({ status: z.enum(['pending', 'sent', 'dead']).optional() }), returns: { description: '{data: deliveries}' }, cli: 'alerts deliveries' },
  { method: 'POST', path: '/alerts/deliveries/:id/retry', tag: 'alerts', summary: 'Send a dead delivery again', roles: FINANCE, returns: { description: 'The delivery' }, cli: 'alerts retry' },
  { method: 'GET', path: '/alerts/digest', tag: 'alerts', summary: 'An owner\'s weekly digest', roles: FINANCE, query: z.object({ user: z.string().optional().describe('default: the first owner') }), returns: { description: '{user, text}' }, cli: 'alerts digest' },
  { method: 'POST', path: '/alerts/digest', tag: 'alerts', summary: 'Send every owner\'s digest now', roles: FINANCE, returns: { status: 202, description: '{queued}' }, cli: 'alerts digest' },
  { method: 'GET', path: '/audit', tag: 'audit', summary: 'The audit log, oldest first', roles: FINANCE, query: z.object({ after: z.int().min(0).optional().describe('sequence number'), limit: z.int().min(1).max(1000).optional().describe('default 100'), target: z.string().optional().describe('key:key_ab12') }), returns: { description: '{data: entries, next_after}' }, cli: 'audit list' },
  { method: 'GET', path: '/audit/verify', tag: 'audit', summary: 'Check the audit log\'s hash chain', roles: FINANCE, returns: { description: '{ok, entries, head} or {ok: false, brokenAt, reason}' }, cli: 'audit verify' },

  // billing
  { method: 'POST', path: '/imports', tag: 'billing', summary: 'Import a cost file (docs/billing.md#imports)', description: 'With accept: application/x-ndjson the answer is a stream of progress lines ending with the summary.', roles: FINANCE, body: 'file', query: importOptionsSchema.extend({ map: mapQuery }), returns: { status: 201, description: 'The import\'s summary (200 when the same file was imported before)' }, cli: 'import' },
  { method: 'GET', path: '/imports', tag: 'billing', summary: 'Imports so far', roles: FINANCE, returns: { description: '{data: imports}' }, cli: 'imports list' },
  { method: 'GET', path: '/imports/:id', tag: 'billing', summary: 'One import', roles: FINANCE, returns: { description: 'The import\'s summary' }, cli: 'imports show' },
  { method: 'POST', path: '/reconciliations', tag: 'billing', summary: 'A provider\'s cost export against what the gateway metered', roles: FINANCE, body: 'file', query: reconcileInput.extend({ map: mapQuery }), returns: { status: 201, description: 'The reconciliation' }, cli: 'reconcile' },
  { method: 'GET', path: '/reconciliations', tag: 'billing', summary: 'Reconciliations so far', roles: FINANCE, returns: { description: '{data: reconciliations}' }, cli: 'reconciliations list' },
  { method: 'GET', path: '/reconciliations/:id', tag: 'billing', summary: 'One reconciliation', roles: FINANCE, query: z.object({ format: csvOrJson }), returns: { description: 'The reconciliation, or its rows as CSV' }, cli: 'reconciliations show' },
  { method: 'POST', path: '/reconciliations/:id/true-up', tag: 'billing', summary: 'Book the variance as correction lines', roles: FINANCE, returns: { status: 201, description: '{lines, total}' }, cli: 'reconciliations true-up' },
  { method: 'GET', path: '/exports/focus', tag: 'billing', summary: 'The ledger as FOCUS 1.2 CSV, or a run\'s rows with FOCUS 1.3 allocation columns', roles: FINANCE, query: range.extend({ run: z.string().optional().describe('an allocation run') }), returns: { description: 'FOCUS CSV', type: 'csv' }, cli: 'export' },
  { method: 'GET', path: '/allocations/rules', tag: 'billing', summary: 'The allocation rules in force, in order', roles: ANYONE, returns: { description: '{data: rules}' }, cli: 'allocations rules list' },
  { method: 'POST', path: '/allocations/rules', tag: 'billing', summary: 'Create an allocation rule', roles: FINANCE, body: allocationRuleSchema, returns: { status: 201, description: 'The rule' }, cli: 'allocations rules create' },
  { method: 'PUT', path: '/allocations/rules/:id', tag: 'billing', summary: 'Change an allocation rule made through the API', roles: FINANCE, body: allocationRuleSchema, returns: { description: 'The rule' }, cli: 'allocations rules set' },
  { method: 'DELETE', path: '/allocations/rules/:id', tag: 'billing', summary: 'Remove an allocation rule made through the API', roles: FINANCE, returns: { description: 'Removed', type: 'none' }, cli: 'allocations rules remove' },
  { method: 'POST', path: '/allocations/metrics', tag: 'billing', summary: 'A driver metric for a month', roles: FINANCE, body: metricInput, returns: { status: 201, description: 'The metric' }, cli: 'allocations metric' },
  { method: 'POST', path: '/allocations/runs', tag: 'billing', summary: 'Allocate a month by the rules in force (a draft until finalised)', roles: FINANCE, body: runInput, returns: { status: 201, description: 'The run' }, cli: 'allocations run' },
  { method: 'GET', path: '/allocations/runs', tag: 'billing', summary: 'Allocation runs', roles: FINANCE, returns: { description: '{data: runs}' }, cli: 'allocations runs' },
  { method: 'GET', path: '/allocations/runs/:id', tag: 'billing', summary: 'One run', roles: FINANCE, returns: { description: 'The run' }, cli: 'allocations show' },
  { method: 'POST', path: '/allocations/runs/:id/finalize', tag: 'billing', summary: 'Make a run final', roles: FINANCE, returns: { description: 'The run' }, cli: 'allocations finalize' },
  { method: 'DELETE', path: '/allocations/runs/:id', tag: 'billing', summary: 'Remove a draft run', roles: FINANCE, returns: { description: 'Removed', type: 'none' }, cli: 'allocations remove' },
  { method: 'GET', path: '/allocations/runs/:id/statement', tag: 'billing', summary: 'A run\'s statement, for all departments or one', roles: FINANCE, query: z.object({ department: department.optional(), format: z.enum(['json', 'csv', 'html']).optional() }), returns: { description: 'JSON; CSV or an HTML page with format' }, cli: 'allocations statement' },
  { method: 'GET', path: '/allocations/runs/:id/journal', tag: 'billing', summary: 'A run\'s journal entries, balanced per entry', roles: FINANCE, returns: { description: 'Journal CSV', type: 'csv' }, cli: 'allocations journal' },
  { method: 'GET', path: '/allocations/runs/:id/lines', tag: 'billing', summary: 'The drill-down: each ledger line\'s part for one department', roles: FINANCE, query: z.object({ department }), returns: { description: 'CSV', type: 'csv' }, cli: 'allocations lines' },
];
