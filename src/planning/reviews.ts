/**
 * The monthly review record: each decision a spend review takes (on a budget, routing, a tool
 * retired, a workflow changed, an exception), who owns it, the effect expected, when it is
 * looked at again, and free notes. Decisions are records of one ManagedRecords kind, so every
 * create and update is an audited ConfigStore write (target `review_decision:<id>`).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import { ManagedRecords, parsed } from '../config/managed.js';
import { BursarError } from '../core/errors.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore } from '../core/ports.js';

export const REVIEW_KIND = 'review_decision';
export const DECISION_KINDS = ['budget', 'routing', 'tool_retirement', 'workflow_change', 'exception'] as const;
export const DECISION_STATUSES = ['open', 'done', 'dropped'] as const;

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(d)), 'must be a real date');
const text = (max: number) => z.string().trim().min(1).max(max);

/** The fields people write; `id` and `recorded_by` are Bursar's. */
const decisionFields = {
  /** The review it was taken in: a month, YYYY-MM. */
  month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM'),
  kind: z.enum(DECISION_KINDS),
  /** What was decided, in a sentence. */
  decision: text(500),
  /** The user who carries it out. */
  owner: z.string().min(1),
  /** The department it concerns (a manager records decisions of their own). */
  department: z.string().min(1).nullable(),
  expected_effect: text(1000),
  next_review: date,
  notes: z.string().max(5000),
  status: z.enum(DECISION_STATUSES),
};

export const decisionSchema = z.strictObject({ id: z.string(), recorded_by: z.string(), ...decisionFields });
export type Decision = z.infer<typeof decisionSchema>;
export const createDecisionInput = z.strictObject({
  ...decisionFields,
  department: decisionFields.department.optional(),
  notes: decisionFields.notes.default(''),
  status: decisionFields.status.default('open'),
});
/** No defaults: what an update leaves out stays as it was. */
export const updateDecisionInput = z.strictObject(decisionFields).partial();

export class ReviewService {
  readonly records: ManagedRecords<Decision>;

  constructor(store: ConfigStore, private readonly org: OrgTree) {
    this.records = new ManagedRecords<Decision>(store, REVIEW_KIND, 'review decision', (input) => {
      const d = parsed(decisionSchema.safeParse(input), 'decision');
      if (!org.users.has(d.owner)) throw new BursarError('validation_failed', `owner: "${d.owner}" is not a user in bursar.yaml.`, { param: 'owner' });
      if (d.department !== null && !org.departments.has(d.department)) throw new BursarError('validation_failed', `department: "${d.department}" is not a department in bursar.yaml.`, { param: 'department' });
      return d;
    }, 'bursar reviews list', ['admin', 'finance', 'manager']);
  }

  /** Admins and finance see every decision; a manager those of their department (or owned by its people); a member those they own. */
  private canSee(actor: Actor, d: Decision): boolean {
    switch (actor.role) {
      case 'admin':
      case 'finance':
        return true;
      case 'manager':
        return actor.department !== null && (d.department ?? this.org.users.get(d.owner)?.department) === actor.department;
      case 'member':
        return actor.user !== null && d.owner === actor.user;
    }
  }

  /** Members read the decisions they own; a manager writes only decisions of their own department. */
  private assertCanWrite(actor: Actor, d: Decision | null): void {
    assertRole(actor, ['admin', 'finance', 'manager'], 'record review decisions');
    if (d && actor.role === 'manager' && d.department !== actor.department) {
      throw new BursarError('forbidden', `A manager of "${actor.department}" records decisions of that department only (department: ${actor.department}).`);
    }
  }

  async list(actor: Actor, q: { month?: string; kind?: string; owner?: string; status?: string; due?: string } = {}, now = Date.now()): Promise<Decision[]> {
    const today = new Date(now).toISOString().slice(0, 10);
    return (await this.records.list())
      .map((m) => m.spec)
      .filter((d) => this.canSee(actor, d)
        && (!q.month || d.month === q.month) && (!q.kind || d.kind === q.kind) && (!q.owner || d.owner === q.owner) && (!q.status || d.status === q.status)
        && (q.due !== 'true' || (d.status === 'open' && d.next_review <= today)))
      .sort((a, b) => a.month.localeCompare(b.month) || a.next_review.localeCompare(b.next_review) || a.id.localeCompare(b.id));
  }

  async get(id: string, actor: Actor): Promise<Decision> {
    const d = await this.records.get(id).catch(() => null);
    if (!d || !this.canSee(actor, d.spec)) throw new BursarError('not_found', `No review decision "${id}" that you can see; list them with \`bursar reviews list\`.`);
    return d.spec;
  }

  async create(input: unknown, actor: Actor): Promise<Decision> {
    this.assertCanWrite(actor, null);
    const fields = parsed(createDecisionInput.safeParse(input), 'decision');
    const d: Decision = { id: `dec_${randomBytes(6).toString('hex')}`, recorded_by: actor.label, ...fields, department: fields.department ?? (actor.role === 'manager' ? actor.department : null) };
    this.assertCanWrite(actor, d);
    return this.records.create(d, actor);
  }

  /** Changes some fields (status, notes, next review...); the rest stay. */
  async update(id: string, input: unknown, actor: Actor): Promise<Decision> {
    this.assertCanWrite(actor, null);
    const current = await this.get(id, actor);
    this.assertCanWrite(actor, current);
    // Validated again as a whole by the records' check.
    const next = { ...current, ...parsed(updateDecisionInput.safeParse(input), 'decision'), id, recorded_by: current.recorded_by } as Decision;
    this.assertCanWrite(actor, next);
    return this.records.update(id, next, actor);
  }
}
