/**
 * The page's one way to the admin API: same origin, signed in by the session cookie, every
 * change marked with the dashboard's header. Errors keep the API's code and message.
 */
import { useCallback, useEffect, useState } from 'react';

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

/** Reads one API path (null: nothing yet), again whenever the path changes or reload() is called. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError }>({});
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return;
    // Nothing stale under a new question: a view shows "Loading" until its new answer arrives.
    setState({});
    let live = true;
    api<T>(path).then((data) => live && setState({ data }), (error: ApiError) => live && setState({ error }));
    return () => {
      live = false;
    };
  }, [path, tick]);
  return { data: state.data, error: state.error, reload: useCallback(() => setTick((t) => t + 1), []) };
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
