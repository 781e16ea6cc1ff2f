/**
 * The use-case register: each workflow (the value of x-bursar-workflow) with its business
 * owner, sponsoring department and cost centre, risk assessment, data classes, expected monthly
 * spend and the outcome that justifies it. Declared in bursar.yaml (`workflows:`) or through the
 * admin API; the gateway holds it in memory. Where policy says so (`workflow_policy:
 * require_registered`), calls in those environments must name a registered workflow, and a
 * registered workflow's calls carry only its data classes.
 */
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import type { Dims } from '../core/dimensions.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore } from '../core/ports.js';
import { ManagedRecords, parsed } from '../config/managed.js';
import { slug } from './model.js';


export const workflowSpecSchema = z.strictObject({
  /** The workflow's name in calls (x-bursar-workflow, or a key's workflow). */
  id: slug,
  name: z.string().min(1).optional(),
  /** The business owner: a declared user. */
  owner: slug,
  /** The sponsoring department, and its cost centre (default: the department's). */
  department: slug,
  cost_centre: z.string().min(1).optional(),
  /** Who approved the use case (a declared user), and the risk or data-protection assessment's reference. */
  approved_by: slug.optional(),
  risk_assessment: z.string().min(1).max(200).optional(),
  /** The data classes its calls may carry; empty: any. */
  data_classes: z.array(slug).default([]),
  /** What it is expected to cost a month. */
  expected_monthly: z.strictObject({ amount: z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "1200.00"'), currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code') }).optional(),
  /** The outcome that justifies the spend. */
  outcome: z.string().min(1).max(500),
  /** The route its calls are meant to use. */
  route: slug.optional(),
});

export type WorkflowSpec = z.infer<typeof workflowSpecSchema>;

export const workflowPolicySchema = z
  .strictObject({
    /** Environments whose calls must name a registered workflow, e.g. [production]. */
    require_registered: z.array(z.string().min(1)).default([]),
  })
  .prefault({});

export const WORKFLOW_KIND = 'workflow';

/** What is wrong with a registered workflow beyond its schema, each as [field path, message]. */
export function workflowProblems(w: WorkflowSpec, org: OrgTree, dataClasses: readonly string[], routeExists: (id: string) => boolean): [string, string][] {
  const out: [string, string][] = [];
  if (!org.users.has(w.owner)) out.push(['owner', `"${w.owner}" is not a declared user`]);
  if (w.approved_by && !org.users.has(w.approved_by)) out.push(['approved_by', `"${w.approved_by}" is not a declared user`]);
  if (!org.departments.has(w.department)) out.push(['department', `"${w.department}" is not a declared department`]);
  w.data_classes.forEach((c, i) => {
    if (!dataClasses.includes(c)) out.push([`data_classes[${i}]`, `"${c}" is not a declared data class (data_classes: ${dataClasses.join(', ')})`]);
  });
  if (w.route && !routeExists(w.route)) out.push(['route', `no route "${w.route}" is declared`]);
  return out;
}

export function workflowRecords(store: ConfigStore, check: (w: WorkflowSpec) => [string, string][]): ManagedRecords<WorkflowSpec> {
  return new ManagedRecords<WorkflowSpec>(store, WORKFLOW_KIND, 'workflow', (input) => {
    const spec = parsed(workflowSpecSchema.safeParse(input), 'workflow');
    const [problem] = check(spec);
    if (problem) throw new BursarError('validation_failed', `${problem[0]}: ${problem[1]}.`, { param: problem[0] });
    return spec;
  }, 'bursar workflows');
}

/** The register as the gateway reads it: in memory, replaced whenever it changes. */
export class WorkflowRegister {
  private byId: ReadonlyMap<string, WorkflowSpec> = new Map();

  constructor(private readonly requiredIn: ReadonlySet<string>) {}

  replace(specs: readonly WorkflowSpec[]): void {
    this.byId = new Map(specs.map((w) => [w.id, w]));
  }

  get(id: string): WorkflowSpec | undefined {
    return this.byId.get(id);
  }

  /** Refuses a call the register does not allow: an unregistered workflow where policy requires one, or a data class its workflow may not carry. */
  check(dims: Dims): void {
    const w = dims.workflow === null ? undefined : this.byId.get(dims.workflow);
    if (!w) {
      if (dims.environment !== null && this.requiredIn.has(dims.environment)) {
        const named = dims.workflow === null ? 'names no workflow' : `names workflow "${dims.workflow}", which is not registered`;
        throw new BursarError('workflow_not_registered', `Calls in the ${dims.environment} environment must name a registered workflow, and this one ${named}. Send x-bursar-workflow with a registered workflow (bursar workflows list), or register it (bursar workflows register).`, { param: 'x-bursar-workflow' });
      }
      return;
    }
    const c = dims.data_class;
    if (c !== null && w.data_classes.length && !w.data_classes.includes(c)) {
      throw new BursarError('data_class_not_allowed', `This call carries data class "${c}", and workflow "${w.id}" is registered for ${w.data_classes.join(', ')} only. Register the class for it (its owner: ${w.owner}), or do not send ${c} data.`, { param: 'x-bursar-data-class' });
    }
  }
}
