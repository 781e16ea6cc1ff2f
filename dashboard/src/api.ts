/**
 * The page's one way to the admin API: same origin, signed in by the session cookie, every
 * change marked with the dashboard's header. Errors keep the API's code and message.
 */
import { useCallback, useEffect, useState } from 'react';
import { decimalText, parseDecimal } from '../../src/core/money';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`/admin/v1${path}`, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    headers: { 'x-bursar-client': 'dashboard', ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  if (res.status === 204) return undefined as T;
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, json?.error?.code ?? 'error', json?.error?.message ?? res.statusText);
  return json as T;
}

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  readonly reload: () => void;
}

/**
 * Loads something (key null: nothing yet), again whenever the key changes or reload() is called;
 * nothing stale under a new question: a view shows "Loading" until its new answer arrives.
 */
export function useLoad<T>(key: string | null, load: () => Promise<T>): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (key === null) return;
    setState({});
    let live = true;
    load().then((data) => live && setState({ data }), (error: ApiError) => live && setState({ error }));
    return () => {
      live = false;
    };
    // `load` follows from `key`: a new key is a new question.
  }, [key, tick]);
  return { data: state.data, error: state.error, reload: useCallback(() => setTick((t) => t + 1), []) };
}

/** Reads one API path (null: nothing yet). */
export function useApi<T>(path: string | null): Loaded<T> {
  return useLoad(path, () => api<T>(path!));
}

/** A query string from the set values of an object. */
export function qs(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Actor {
  readonly label: string;
  readonly role: 'admin' | 'finance' | 'manager' | 'member';
  readonly department: string | null;
  readonly user: string | null;
}

export interface UsageRow {
  readonly group: Record<string, string | null>;
  readonly currency: string;
  readonly requests: number;
  readonly input_tokens: number;
  readonly cached_input_tokens: number;
  readonly output_tokens: number;
  readonly reasoning_tokens: number;
  readonly cost: string;
  readonly cost_nano: string;
  /** In the organisation's currency. */
  readonly org_cost: string;
}
export interface Usage {
  /** The organisation's currency, of each row's org_cost. */
  readonly org_currency: string | null;
  readonly from: string;
  readonly to: string;
  readonly rows: readonly UsageRow[];
  readonly totals: readonly { currency: string; requests: number; cost: string }[];
}

/**
 * Usage rows as one row per group (a group's lines may be in several currencies), with their
 * cost in the organisation's currency, added exactly; dearest first.
 */
export function inOrgCurrency(rows: readonly UsageRow[], keyOf: (r: UsageRow) => string): (UsageRow & { org_cost: string })[] {
  const merged = new Map<string, UsageRow & { org: bigint }>();
  for (const r of rows) {
    const k = keyOf(r);
    const m = merged.get(k);
    merged.set(k, m
      ? { ...m, requests: m.requests + r.requests, input_tokens: m.input_tokens + r.input_tokens, output_tokens: m.output_tokens + r.output_tokens, org: m.org + parseDecimal(r.org_cost) }
      : { ...r, org: parseDecimal(r.org_cost) });
  }
  return [...merged.values()].sort((a, b) => (b.org > a.org ? 1 : b.org < a.org ? -1 : 0)).map(({ org, ...r }) => ({ ...r, org_cost: decimalText(org) }));
}
