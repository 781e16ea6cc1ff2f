/**
 * Reading the caller's request body (only the fields Bursar acts on; every other field passes
 * through untouched) and preparing what the provider is sent.
 */
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import type { Endpoint } from './endpoints.js';

const cap = z.number().int().positive().nullish();

/** The fields Bursar reads; the rest of the object is kept as sent. */
export const callShape = z.looseObject({
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  max_tokens: cap,
  max_completion_tokens: cap,
  max_output_tokens: cap,
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
});

const boolOk = (v: unknown): boolean => v === undefined || v === null || typeof v === 'boolean';
const capOk = (v: unknown): boolean => v === undefined || v === null || (Number.isSafeInteger(v) && (v as number) > 0);

/**
 * Whether a body's fields are as callShape wants them, checked without zod: zod's check of a
 * loose object copies every field of the body, about 1% of a call's CPU and 700 bytes. Zod still
 * checks a body this refuses, and words the error (a property test holds the two to the same answers).
 */
export function fitsCallShape(b: Record<string, unknown>): boolean {
  const so = b.stream_options as Record<string, unknown> | null | undefined;
  return (
    typeof b.model === 'string' && b.model.length > 0 && boolOk(b.stream) &&
    capOk(b.max_tokens) && capOk(b.max_completion_tokens) && capOk(b.max_output_tokens) &&
    (so === undefined || so === null || (typeof so === 'object' && !Array.isArray(so) && boolOk(so.include_usage)))
  );
}

export interface ParsedCall {
  readonly body: Record<string, unknown>;
  readonly model: string;
  readonly stream: boolean;
  /** The output cap the client set, if any. */
  readonly maxOutput: number | null;
}

export function parseCall(raw: unknown, ep: Endpoint): ParsedCall {
  if (!Buffer.isBuffer(raw) || raw.length === 0) {
    throw new BursarError('invalid_json', 'The request has no body; send a JSON object with at least "model".');
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new BursarError('invalid_json', `The request body is not valid JSON (${(err as Error).message}); send a JSON object.`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new BursarError('invalid_body', 'The request body must be a JSON object, e.g. {"model": "gpt-4o-mini", ...}.');
  }
  const c = body as Record<string, unknown> & { model: string; stream?: boolean | null };
  if (!fitsCallShape(c)) {
    const checked = callShape.safeParse(body);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      const param = issue.path.join('.');
      if (param === 'model') {
        throw new BursarError('missing_model', 'The request names no model; set "model" to a model name (see GET /v1/models) or provider/model.', { param: 'model' });
      }
      throw new BursarError('invalid_body', `Field "${param}": ${issue.message}.`, { param });
    }
  }
  const stream = c.stream === true;
  if (stream && !ep.canStream) throw new BursarError('invalid_body', `The ${ep.path} endpoint does not stream; remove "stream".`, { param: 'stream' });
  let maxOutput: number | null = null;
  for (const f of ep.capFields) {
    const v = c[f];
    if (typeof v === 'number') {
      maxOutput = v;
      break;
    }
  }
  return { body: c, model: c.model, stream, maxOutput };
}

/** Tokens allowed for each image in a prompt's worst case: above what any current model charges for one image. */
export const IMAGE_TOKEN_BOUND = 8_000;
const IMAGE = Buffer.from('image');
const IMAGE_PARTS = new Set(['image_url', 'input_image', 'image']);

/** A safe upper bound on a request's prompt tokens: its bytes (a BPE token covers at least one), plus a bound per image. */
export function inputBound(raw: Buffer, body: Record<string, unknown>): number {
  if (!raw.includes(IMAGE)) return raw.length;
  let images = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.type === 'string' && IMAGE_PARTS.has(o.type)) images++;
      for (const x of Object.values(o)) if (x && typeof x === 'object') walk(x);
    }
  };
  walk(body.messages ?? body.input);
  return raw.length + images * IMAGE_TOKEN_BOUND;
}

export interface Prepared {
  /** The bytes the provider is sent: the caller's own bytes when nothing had to change. */
  readonly payload: Buffer | string;
  /** Whether the caller asked for the usage chunk of an OpenAI chat stream. */
  readonly clientAskedUsage: boolean;
}

/**
 * Renames a provider-prefixed model, sets the output cap a budget requires (in the field the
 * client used, or the endpoint's own), and, for OpenAI chat streams, asks for the usage chunk.
 */
export function prepareUpstream(raw: Buffer, call: ParsedCall, ep: Endpoint, upstreamModel: string, cap: number | null = null): Prepared {
  const body = call.body;
  let changed = false;
  if (cap !== null) {
    const field = ep.capFields.find((f) => typeof body[f] === 'number') ?? ep.capFields[0];
    if (field) {
      body[field] = cap;
      changed = true;
    }
  }
  if (upstreamModel !== call.model) {
    body.model = upstreamModel;
    changed = true;
  }
  let asked = true;
  if (call.stream && ep.name === 'chat') {
    const so = body.stream_options;
    const opts = so && typeof so === 'object' ? (so as Record<string, unknown>) : {};
    asked = opts.include_usage === true;
    if (!asked) {
      body.stream_options = { ...opts, include_usage: true };
      changed = true;
    }
  }
  return { payload: changed ? JSON.stringify(body) : raw, clientAskedUsage: asked };
}
