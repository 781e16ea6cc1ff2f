/**
 * The dimensions every cost is attributed to. One list drives the ledger columns, the usage
 * report's group-by, and (later) budget scopes, so a new dimension is added in one place.
 */

export const DIMENSIONS = [
  'department',
  'cost_centre',
  'team',
  'project',
  'project_code',
  'user',
  'user_group',
  'application',
  'workflow',
  'agent',
  'agent_run',
  'environment',
  'data_class',
  'route',
  'tier',
  'provider',
  'model',
  'requested_model',
  'fallback_model',
  'key',
  'budget_owner',
  'budget_category',
  // Routing outcomes (ledger columns since migration 0004)
  'downgraded_from',
  'exception',
  'baseline_model',
] as const;

export type Dimension = (typeof DIMENSIONS)[number];

/** A call's attribution: every dimension, null where it does not apply. */
export type Dims = { [D in Dimension]: string | null };

export type Tags = Readonly<Record<string, string>>;

/** Every dimension null; a class so that every call's dims share one shape (cheap to create and read). */
class EmptyDims {
  department = null; cost_centre = null; team = null; project = null; project_code = null; user = null;
  user_group = null; application = null; workflow = null; agent = null; agent_run = null; environment = null;
  data_class = null; route = null; tier = null; provider = null; model = null; requested_model = null;
  fallback_model = null; key = null; budget_owner = null; budget_category = null; downgraded_from = null; exception = null;
  baseline_model = null;
}

export function emptyDims(): Dims {
  return new EmptyDims() as unknown as Dims;
}

const DIMENSION_SET: ReadonlySet<string> = new Set(DIMENSIONS);

export function isDimension(name: string): name is Dimension {
  return DIMENSION_SET.has(name);
}

/** Tag keys: lower-case slug, so they are safe as column suffixes and CSV headers. */
export const TAG_KEY = /^[a-z][a-z0-9_.-]{0,62}$/;
/** Tag values: 1-128 printable characters without the header's separators (`;`, `=`, `,`). */
export const TAG_VALUE = /^[^\s=;,\p{Cc}][^=;,\p{Cc}]{0,127}$/u;
export const MAX_TAGS = 20;
