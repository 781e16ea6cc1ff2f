import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BursarError } from '../core/errors.js';
import { ENDPOINTS } from './endpoints.js';
import { callShape, fitsCallShape, parseCall } from './request.js';

/** Values a caller may put in any field: the right kinds, the edges of them, and the wrong kinds. */
const anyValue = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0, 1, -1, 2 ** 53 - 1, 2 ** 53, 1.5, 4096, Number.MAX_VALUE),
  fc.integer(),
  fc.double(),
  fc.constantFrom('', 'gpt-4o-mini', 'true', '12'),
  fc.string(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.constant({}),
);
/** A field absent, or mostly of a kind the reader accepts (so that a body's other fields decide), sometimes any value. */
const field = (f: string, valid: fc.Arbitrary<unknown>) =>
  fc.option(fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: anyValue, weight: 1 }), { nil: undefined, freq: 4 }).map((v) => [f, v] as const);
const cap = fc.oneof(fc.integer({ min: 1 }), fc.constant(null));
const body = fc
  .tuple(
    field('model', fc.string({ minLength: 1 })),
    field('stream', fc.oneof(fc.boolean(), fc.constant(null))),
    field('max_tokens', cap),
    field('max_completion_tokens', cap),
    field('max_output_tokens', cap),
    field('stream_options', fc.record({ include_usage: fc.oneof(fc.boolean(), fc.constant(null), anyValue) }, { requiredKeys: [] })),
    field('messages', anyValue),
  )
  // A body comes from JSON: a field is absent or has a value (never undefined).
  .map((fields) => Object.fromEntries(fields.filter(([, v]) => v !== undefined)) as Record<string, unknown>);

describe('reading a call body', () => {
  it('accepts and refuses exactly the bodies zod does', () => {
    const accepts = (b: unknown): boolean => callShape.safeParse(b).success;
    fc.assert(
      fc.property(body, (b) => {
        expect(fitsCallShape(b), JSON.stringify(b)).toBe(accepts(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('reads the fields it acts on, and keeps the body as sent', () => {
    const raw = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 40, extra: { a: 1 } }));
    const p = parseCall(raw, ENDPOINTS.chat);
    expect(p).toMatchObject({ model: 'gpt-4o-mini', stream: true, maxOutput: 40 });
    expect(p.body.extra).toEqual({ a: 1 });
  });

  it('words the error for a body it refuses', () => {
    const refusal = (b: unknown): BursarError => {
      try {
        parseCall(Buffer.from(JSON.stringify(b)), ENDPOINTS.chat);
      } catch (err) {
        return err as BursarError;
      }
      throw new Error('accepted');
    };
    expect(refusal({ messages: [] })).toMatchObject({ code: 'missing_model' });
    expect(refusal({ model: '' })).toMatchObject({ code: 'missing_model' });
    const e = refusal({ model: 'm', max_tokens: 0 });
    expect(e).toMatchObject({ code: 'invalid_body', param: 'max_tokens' });
    expect(e.message).toMatch(/^Field "max_tokens": /);
    expect(refusal({ model: 'm', stream_options: { include_usage: 'yes' } })).toMatchObject({ code: 'invalid_body', param: 'stream_options.include_usage' });
  });
});
