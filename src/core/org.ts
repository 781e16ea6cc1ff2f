/**
 * The org tree: organisation > department (cost centre) > team > project (project code), and
 * users who belong to a department. Built once from configuration; answers the questions the
 * gateway and the admin API ask on every call without touching storage.
 */

export interface Department {
  readonly id: string;
  readonly name: string;
  readonly costCentre: string;
  readonly manager: string | null;
  /** The currency its statements are in; null: the organisation's. */
  readonly currency?: string | null;
}

export interface Team {
  readonly id: string;
  readonly name: string;
  readonly department: string;
}

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly code: string;
  readonly department: string;
  readonly team: string | null;
}

export interface User {
  readonly id: string;
  readonly name: string;
  readonly email: string | null;
  readonly department: string;
  readonly team: string | null;
  readonly groups: readonly string[];
}

export class OrgTree {
  readonly departments: ReadonlyMap<string, Department>;
  readonly teams: ReadonlyMap<string, Team>;
  readonly projects: ReadonlyMap<string, Project>;
  readonly users: ReadonlyMap<string, User>;

  constructor(parts: { departments: Department[]; teams: Team[]; projects: Project[]; users: User[] }) {
    this.departments = new Map(parts.departments.map((d) => [d.id, d]));
    this.teams = new Map(parts.teams.map((t) => [t.id, t]));
    this.projects = new Map(parts.projects.map((p) => [p.id, p]));
    this.users = new Map(parts.users.map((u) => [u.id, u]));
  }

  static empty(): OrgTree {
    return new OrgTree({ departments: [], teams: [], projects: [], users: [] });
  }

  /** The department a team, project or user belongs to. */
  departmentOf(ref: { team?: string | null; project?: string | null; user?: string | null }): string | null {
    if (ref.project) return this.projects.get(ref.project)?.department ?? null;
    if (ref.team) return this.teams.get(ref.team)?.department ?? null;
    if (ref.user) return this.users.get(ref.user)?.department ?? null;
    return null;
  }
}
