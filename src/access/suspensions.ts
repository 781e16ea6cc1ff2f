/**
 * Suspending a workflow or an agent stops its calls at once, everywhere, without touching
 * anyone else's traffic; resuming lifts it. Keys are suspended through KeyService.
 */
import { BursarError } from '../core/errors.js';
import type { ConfigStore } from '../core/ports.js';
import { assertRole, type Actor } from './actor.js';
import { SUSPENSION_KIND, suspensionBodySchema, suspensionId, type Suspendable, type SuspensionBody } from './records.js';

export class SuspensionService {
  constructor(private readonly store: ConfigStore) {}

  async suspend(kind: Suspendable, name: string, reason: string, actor: Actor): Promise<SuspensionBody> {
    assertRole(actor, ['admin', 'manager'], `suspend a ${kind}`);
    const id = suspensionId(kind, name);
    const body = suspensionBodySchema.parse({ kind, name, reason, since: Date.now(), by: actor.label });
    await this.store.write({ kind: SUSPENSION_KIND, id, body }, { actor: actor.label, action: `${kind}.suspend`, target: id, details: { reason } });
    return body;
  }

  async resume(kind: Suspendable, name: string, reason: string, actor: Actor): Promise<void> {
    assertRole(actor, ['admin', 'manager'], `resume a ${kind}`);
    const id = suspensionId(kind, name);
    if (!(await this.store.get(SUSPENSION_KIND, id))) throw new BursarError('not_found', `The ${kind} "${name}" is not suspended.`);
    await this.store.write({ kind: SUSPENSION_KIND, id, body: null }, { actor: actor.label, action: `${kind}.resume`, target: id, details: { reason } });
  }

  async list(): Promise<SuspensionBody[]> {
    return (await this.store.list(SUSPENSION_KIND)).map((r) => suspensionBodySchema.parse(r.body));
  }
}
