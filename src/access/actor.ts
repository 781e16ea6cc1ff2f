/**
 * Who is asking, and what they may see. Roles: admin (everything), finance (read everything),
 * manager (their department's subtree: its teams, projects, users and keys), member (their own
 * usage and keys). Every admin read and write goes through these checks.
 */
import { BursarError } from '../core/errors.js';
import type { Role } from './records.js';

export interface Actor {
  /** How the audit log names them: the token's label, "bootstrap-admin", "config". */
  readonly label: string;
  readonly role: Role;
  readonly department: string | null;
  readonly user: string | null;
}

export const SYSTEM_ACTOR: Actor = { label: 'system', role: 'admin', department: null, user: null };

/** The department filter to apply to reads: null means everything. */
export function visibleDepartments(actor: Actor): readonly string[] | null {
  if (actor.role === 'admin' || actor.role === 'finance') return null;
  if (actor.role === 'manager') return actor.department ? [actor.department] : [];
  return null;
}

/** The user filter to apply to reads: members see only their own. */
export function visibleUser(actor: Actor): string | null {
  return actor.role === 'member' ? (actor.user ?? '\u0000nobody') : null;
}

/** May this actor read something attributed to this department and user? */
export function canSee(actor: Actor, department: string | null, user: string | null): boolean {
  switch (actor.role) {
    case 'admin':
    case 'finance':
      return true;
    case 'manager':
      return department !== null && department === actor.department;
    case 'member':
      return user !== null && user === actor.user;
  }
}

/** May this actor create or change keys of this department? */
export function assertCanManage(actor: Actor, department: string | null, what: string): void {
  if (actor.role === 'admin') return;
  if (actor.role === 'manager' && department !== null && department === actor.department) return;
  throw new BursarError('forbidden', `${actor.role === 'manager' ? `A manager of "${actor.department}"` : `The ${actor.role} role`} cannot ${what}${department ? ` in department "${department}"` : ''}; ask an admin.`);
}

export function assertRole(actor: Actor, roles: readonly Role[], what: string): void {
  if (!roles.includes(actor.role)) {
    throw new BursarError('forbidden', `The ${actor.role} role cannot ${what}; it needs one of: ${roles.join(', ')}.`);
  }
}
