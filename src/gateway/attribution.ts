/**
 * Step 2: who the call is for. Starts from the key's attribution, adds the documented headers
 * (workflow, agent, agent run, user group, end user, tags), applies act-for (a platform key
 * attributing a call to the department or user it serves, when its policy allows), checks the
 * key's required metadata and refuses suspended workflows and agents.
 */
import { BursarError } from '../core/errors.js';
import { emptyDims, MAX_TAGS, TAG_KEY, TAG_VALUE, type Dims, type Tags } from '../core/dimensions.js';
import type { OrgTree } from '../core/org.js';
import type { AccessIndex, KeyEntry } from '../access/access-index.js';
import type { MetadataField } from '../config/schema.js';

/** The attribution headers; docs/api.md documents each. */
export const ATTRIBUTION_HEADERS = {
  workflow: 'x-bursar-workflow',
  agent: 'x-bursar-agent',
  agent_run: 'x-bursar-agent-run',
  user_group: 'x-bursar-user-group',
  user: 'x-bursar-user',
  department: 'x-bursar-department',
  tags: 'x-bursar-tags',
  data_class: 'x-bursar-data-class',
} as const;

const VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,127}$/;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export interface AttributionOptions {
  readonly org: OrgTree;
  readonly index: AccessIndex;
  readonly requiredByDefault: readonly MetadataField[];
  readonly allowedTags: readonly string[] | undefined;
  /** Data classes, least sensitive first. */
  readonly dataClasses: readonly string[];
}

/** The more sensitive of two data classes (either may be absent), by their order in `classes`. */
export function moreSensitive(classes: readonly string[], a: string | null, b: string | null): string | null {
  if (a === null || b === null) return a ?? b;
  return classes.indexOf(b) > classes.indexOf(a) ? b : a;
}

export interface Attribution {
  readonly dims: Dims;
  readonly tags: Tags | null;
}

function header(headers: Headers, name: string): string | null {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || s === '') return null;
  if (!VALUE.test(s)) {
    throw new BursarError('invalid_metadata', `Header ${name} has an invalid value "${s.slice(0, 40)}": use 1-128 letters, digits or _ . : / @ + -, starting with a letter or digit.`);
  }
  return s;
}

/** The tags of an x-bursar-tags value (key=value pairs separated by ;), refused if malformed. */
function parseTags(raw: string): Record<string, string> {
  const tags: Record<string, string> = {};
  const pairs = raw.split(';').map((p) => p.trim()).filter(Boolean);
  if (pairs.length > MAX_TAGS) throw new BursarError('invalid_metadata', `${ATTRIBUTION_HEADERS.tags} has ${pairs.length} tags; at most ${MAX_TAGS} are allowed.`);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const k = eq > 0 ? pair.slice(0, eq).trim() : '';
    const v = eq > 0 ? pair.slice(eq + 1).trim() : '';
    if (!TAG_KEY.test(k) || !TAG_VALUE.test(v)) {
      throw new BursarError('invalid_metadata', `${ATTRIBUTION_HEADERS.tags}: "${pair.slice(0, 60)}" is not key=value (keys: lower-case letters, digits, _ . -; values: up to 128 characters without ; = ,). Example: "ticket=T-123;channel=email".`);
    }
    tags[k] = v;
  }
  return tags;
}

/**
 * The tags of an x-bursar-tags value, parsed once per distinct value (callers send the same few
 * again and again; the parse was about 0.7% of a call's CPU) and shared, frozen, by the calls
 * that send it. Bounded: a full cache starts over. Only the parse is kept; whether the tags are
 * allowed is checked on every call, as the allowed list may change.
 */
const parsedTags = new Map<string, Readonly<Record<string, string>>>();
const PARSED_TAGS_MAX = 1024;
const NO_TAGS: Readonly<Record<string, string>> = Object.freeze({});

function headerTags(raw: string | null, allowed: readonly string[] | undefined): Readonly<Record<string, string>> {
  if (raw === null) return NO_TAGS;
  let tags = parsedTags.get(raw);
  if (!tags) {
    tags = Object.freeze(parseTags(raw));
    if (parsedTags.size >= PARSED_TAGS_MAX) parsedTags.clear();
    parsedTags.set(raw, tags);
  }
  if (allowed) {
    for (const k in tags) {
      if (!allowed.includes(k)) throw new BursarError('invalid_metadata', `Tag "${k}" is not allowed here; allowed tags: ${allowed.join(', ') || '(none)'}.`);
    }
  }
  return tags;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

function mayActFor(list: readonly string[] | undefined, value: string): boolean {
  return !!list && (list.includes('*') || list.includes(value));
}

export function attribute(key: KeyEntry, headers: Headers, o: AttributionOptions): Attribution {
  const k = key.body;
  const a = k.attribution;
  const dims = emptyDims();
  dims.key = key.id;
  dims.department = a.department;
  dims.team = a.team;
  dims.project = a.project;
  dims.application = a.application;
  dims.environment = a.environment;
  dims.user = a.user;
  dims.workflow = header(headers, ATTRIBUTION_HEADERS.workflow);
  dims.agent = header(headers, ATTRIBUTION_HEADERS.agent);
  dims.agent_run = header(headers, ATTRIBUTION_HEADERS.agent_run);
  dims.user_group = header(headers, ATTRIBUTION_HEADERS.user_group);
  const userHeader = header(headers, ATTRIBUTION_HEADERS.user);
  const deptHeader = header(headers, ATTRIBUTION_HEADERS.department);
  const tagHeader = headers[ATTRIBUTION_HEADERS.tags];
  const rawTags = typeof tagHeader === 'string' && tagHeader !== '' ? tagHeader : null;

  if (deptHeader !== null && deptHeader !== a.department) {
    if (!o.org.departments.has(deptHeader)) throw new BursarError('invalid_metadata', `${ATTRIBUTION_HEADERS.department}: "${deptHeader}" is not a department in bursar.yaml.`);
    if (!mayActFor(k.act_for?.departments, deptHeader)) {
      throw new BursarError('act_for_not_allowed', `Key "${k.label}" may not attribute calls to department "${deptHeader}"; its policy (act_for.departments) must allow it.`);
    }
    dims.department = deptHeader;
    dims.team = null;
    dims.project = null;
  }
  if (userHeader !== null && userHeader !== a.user) {
    const u = o.org.users.get(userHeader);
    if (!u) throw new BursarError('invalid_metadata', `${ATTRIBUTION_HEADERS.user}: "${userHeader}" is not a user in bursar.yaml.`);
    const sameDepartment = u.department === dims.department;
    if (!sameDepartment && !mayActFor(k.act_for?.users, u.id) && !mayActFor(k.act_for?.departments, u.department)) {
      throw new BursarError('act_for_not_allowed', `Key "${k.label}" may not attribute calls to user "${u.id}" of department "${u.department}"; its policy (act_for.users) must allow it.`);
    }
    dims.user = u.id;
    if (!sameDepartment) {
      dims.department = u.department;
      dims.team = u.team;
      dims.project = null;
    }
  }
  // The call's data class: the header's, unless the key's is more sensitive (a header cannot lower it).
  const classHeader = header(headers, ATTRIBUTION_HEADERS.data_class);
  if (classHeader !== null && !o.dataClasses.includes(classHeader)) {
    throw new BursarError('invalid_metadata', `${ATTRIBUTION_HEADERS.data_class}: "${classHeader.slice(0, 60)}" is not a data class; use one of ${o.dataClasses.join(', ')}.`, { param: ATTRIBUTION_HEADERS.data_class });
  }
  dims.data_class = moreSensitive(o.dataClasses, classHeader, k.data_class);
  if (dims.department) dims.cost_centre = o.org.departments.get(dims.department)?.costCentre ?? null;
  if (dims.project) dims.project_code = o.org.projects.get(dims.project)?.code ?? null;

  const fromHeader = headerTags(rawTags, o.allowedTags);
  const tags = k.tags && !isEmpty(k.tags) ? { ...k.tags, ...fromHeader } : fromHeader;
  const hasTags = !isEmpty(tags);
  for (const field of k.required_metadata ?? o.requiredByDefault) {
    const present = field === 'tags' ? hasTags : dims[field] !== null;
    if (!present) {
      const h = ATTRIBUTION_HEADERS[field];
      throw new BursarError('missing_metadata', `Key "${k.label}" requires the ${h} header on every call; add it (e.g. ${h}: ${field === 'tags' ? 'ticket=T-123' : 'support-drafting'}).`);
    }
  }
  if (dims.workflow !== null && o.index.isSuspended('workflow', dims.workflow)) {
    throw new BursarError('workflow_suspended', `Workflow "${dims.workflow}" is suspended; calls resume when it is resumed.`);
  }
  if (dims.agent !== null && o.index.isSuspended('agent', dims.agent)) {
    throw new BursarError('agent_suspended', `Agent "${dims.agent}" is suspended; calls resume when it is resumed.`);
  }
  return { dims, tags: hasTags ? tags : null };
}
