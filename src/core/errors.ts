/**
 * One error type, one table of codes. Every code maps to an HTTP status and to the OpenAI and
 * Anthropic error shapes; docs/errors.md lists them all (a test keeps the two in step).
 */

export type ErrorCategory =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'rate_limit'
  | 'budget'
  | 'upstream'
  | 'timeout'
  | 'unavailable'
  | 'internal';

interface CategorySpec {
  readonly status: number;
  readonly openai: string;
  readonly anthropic: string;
  /** Whether sending the same request again can succeed (false is sent as `x-should-retry: false`). */
  readonly retry: boolean;
}

/** Category -> default status and the error `type` each dialect's SDK expects for it. */
export const CATEGORIES: Readonly<Record<ErrorCategory, CategorySpec>> = {
  invalid_request: { status: 400, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retry: false },
  authentication: { status: 401, openai: 'authentication_error', anthropic: 'authentication_error', retry: false },
  permission: { status: 403, openai: 'permission_error', anthropic: 'permission_error', retry: false },
  not_found: { status: 404, openai: 'not_found_error', anthropic: 'not_found_error', retry: false },
  conflict: { status: 409, openai: 'invalid_request_error', anthropic: 'invalid_request_error', retry: false },
  too_large: { status: 413, openai: 'invalid_request_error', anthropic: 'request_too_large', retry: false },
  rate_limit: { status: 429, openai: 'rate_limit_error', anthropic: 'rate_limit_error', retry: true },
  budget: { status: 429, openai: 'insufficient_quota', anthropic: 'rate_limit_error', retry: false },
  upstream: { status: 502, openai: 'api_error', anthropic: 'api_error', retry: true },
  timeout: { status: 504, openai: 'api_error', anthropic: 'api_error', retry: true },
  unavailable: { status: 503, openai: 'api_error', anthropic: 'overloaded_error', retry: true },
  internal: { status: 500, openai: 'api_error', anthropic: 'api_error', retry: true },
};

interface CodeSpec {
  readonly category: ErrorCategory;
  /** Overrides the category's status where the standard fits better. */
  readonly status?: number;
  /** Overrides the category's retry advice. */
  readonly retry?: boolean;
  readonly summary: string;
}

/** Every error code Bursar returns. Append only: codes are part of the API. */
export const ERROR_CODES = {
  // request shape
  invalid_json: { category: 'invalid_request', summary: 'The request body is not valid JSON.' },
  invalid_body: { category: 'invalid_request', summary: 'A field of the request body has the wrong type or value.' },
  missing_model: { category: 'invalid_request', summary: 'The request names no model.' },
  body_too_large: { category: 'too_large', summary: 'The request body is larger than the configured limit.' },
  route_not_found: { category: 'not_found', summary: 'No endpoint at this method and path.' },
  // keys and attribution
  missing_api_key: { category: 'authentication', summary: 'No Bursar key was sent.' },
  invalid_api_key: { category: 'authentication', summary: 'The key is not a Bursar key, or is unknown.' },
  key_revoked: { category: 'authentication', summary: 'The key was revoked.' },
  key_expired: { category: 'authentication', summary: 'The key is past its expiry.' },
  key_suspended: { category: 'permission', summary: 'The key is suspended.' },
  workflow_suspended: { category: 'permission', summary: 'The workflow named in the request is suspended.' },
  agent_suspended: { category: 'permission', summary: 'The agent named in the request is suspended.' },
  missing_metadata: { category: 'invalid_request', summary: "A header the key's policy requires is missing." },
  invalid_metadata: { category: 'invalid_request', summary: 'An attribution header has an invalid value.' },
  act_for_not_allowed: { category: 'permission', summary: 'The key may not attribute calls to that department or user.' },
  // models and prices
  model_not_allowed: { category: 'permission', summary: 'The key may not use this model.' },
  model_not_found: { category: 'not_found', summary: 'No configured provider serves this model.' },
  model_unpriced: { category: 'invalid_request', summary: 'The model has no price, and its provider does not allow unpriced models.' },
  // routing
  unknown_route: { category: 'invalid_request', summary: "The route named as the model (route:<id>), or the key's default route, is not declared." },
  unknown_tier: { category: 'invalid_request', summary: 'The route has no tier of that name.' },
  data_class_not_allowed: { category: 'permission', summary: "No provider the call could go to may receive its data class (or its route may not carry it)." },
  exception_reason_required: { category: 'invalid_request', summary: "A tier stronger than the route's default was asked for without a reason (x-bursar-exception)." },
  context_too_large: { category: 'invalid_request', summary: "The prompt is longer than the route's max_input_tokens." },
  workflow_not_registered: { category: 'permission', summary: "The call's environment requires a registered workflow, and it names none or an unregistered one." },
  exception_refused: { category: 'permission', summary: "The route allows no tier stronger than its default." },
  exception_needs_approval: { category: 'permission', summary: 'The route serves a tier stronger than its default only under an approved exception, and none covers the call.' },
  dialect_mismatch: { category: 'invalid_request', summary: 'The model is served by an Anthropic-dialect provider, and the endpoint called (responses, embeddings) has no Anthropic counterpart.' },
  translation_unsupported: { category: 'invalid_request', summary: "The call goes to a model of the other dialect, and a field or part of it has no counterpart there." },
  // billing
  import_invalid: { category: 'invalid_request', summary: 'An imported file has a row Bursar cannot read or attribute; nothing of the file was imported.' },
  import_conflict: { category: 'conflict', summary: 'A provider export charges a bucket already imported with another amount; nothing of the file was imported.' },
  // budgets
  budget_exceeded: { category: 'budget', summary: "A budget in the call's scope cannot pay for the call's worst case." },
  budget_expired: { category: 'budget', summary: 'The fixed-range (sandbox or pilot) budget that covers the call has ended.' },
  approval_required: { category: 'budget', summary: 'A budget passed a threshold that needs an approved override before more calls.' },
  rate_limited: { category: 'rate_limit', summary: 'A rate limit (requests or tokens per minute) of a budget is reached; retry after the time given.' },
  agent_run_limit: { category: 'budget', summary: 'The agent run reached a limit (calls, tool calls or duration).' },
  agent_loop: { category: 'budget', summary: 'The agent run sent the same request too many times (loop guard).' },
  budget_unavailable: { category: 'unavailable', summary: "The shared budget counters cannot be reached, and a budget in the call's scope refuses calls until they are back." },
  // upstream
  upstream_timeout: { category: 'timeout', summary: 'The provider did not answer in time.' },
  upstream_unreachable: { category: 'upstream', summary: 'The provider could not be reached.' },
  upstream_stream_cut: { category: 'upstream', summary: 'The provider ended the stream before it was complete.' },
  upstream_bad_response: { category: 'upstream', summary: 'The provider sent a response Bursar could not read.' },
  // admin API
  unauthorized: { category: 'authentication', summary: 'No valid admin token was sent.' },
  forbidden: { category: 'permission', summary: "The token's role does not allow this." },
  not_found: { category: 'not_found', summary: 'No such object.' },
  validation_failed: { category: 'invalid_request', summary: 'The request does not match the schema.' },
  conflict: { category: 'conflict', summary: 'The change conflicts with the current state.' },
  // service
  service_stopping: { category: 'unavailable', summary: 'Bursar is shutting down; retry on another replica.' },
  internal_error: { category: 'internal', summary: 'Bursar failed unexpectedly; the request id is in the logs.' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorOptions {
  /** The request field at fault, for the OpenAI `param`. */
  readonly param?: string;
  /** Structured facts for the caller (amounts, budget name, reset time...). */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

/** The one error type of Bursar: a stable code and a message that says what is wrong and how to fix it. */
export class BursarError extends Error {
  readonly code: ErrorCode;
  readonly param: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BursarError';
    this.code = code;
    this.param = options.param;
    this.details = options.details;
  }

  get status(): number {
    const spec: CodeSpec = ERROR_CODES[this.code];
    return spec.status ?? CATEGORIES[spec.category].status;
  }

  get retryable(): boolean {
    const spec: CodeSpec = ERROR_CODES[this.code];
    return spec.retry ?? CATEGORIES[spec.category].retry;
  }

  get category(): ErrorCategory {
    return ERROR_CODES[this.code].category;
  }
}

export type Dialect = 'openai' | 'anthropic';

/** The error body in the caller's dialect. */
export function errorBody(err: BursarError, dialect: Dialect): Record<string, unknown> {
  const types = CATEGORIES[err.category];
  if (dialect === 'anthropic') {
    return {
      type: 'error',
      error: { type: types.anthropic, message: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) },
    };
  }
  return {
    error: {
      message: err.message,
      type: types.openai,
      param: err.param ?? null,
      code: err.code,
      ...(err.details ? { details: err.details } : {}),
    },
  };
}

/** Wraps anything thrown into a BursarError (unknown errors become internal_error). */
export function asBursarError(err: unknown): BursarError {
  if (err instanceof BursarError) return err;
  return new BursarError('internal_error', 'Bursar failed unexpectedly; the request id is in the logs.', { cause: err });
}
