import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countTokens as reference } from 'gpt-tokenizer/encoding/o200k_base';
import { countWith, o200k } from './o200k.js';

const v = o200k();
const count = (text: string) => countWith(v, text);

describe('o200k_base counts', () => {
  it('reads the whole vocabulary', () => {
    expect(v.size).toBe(199_998);
  });

  it('agree with gpt-tokenizer on prose, code, numbers, whitespace and scripts', () => {
    const samples = [
      '', 'a', 'Hello, world!', "I'm sure they'll say it's the CEO's call, isn't it?", 'HTTPResponse parseJSON XMLHttpRequest',
      'The quick brown fox jumps over the lazy dog. 1234567890 3.14159 1,000,000', '    indented\n\n\n\ttabs\r\n',
      'const x = { a: [1, 2, 3] }; // comment\nfunction f(a, b) { return a ?? b; }', '东京は日本の首都です。', 'Привет, мир! Ελληνικά',
      'emoji 🎉👩‍👩‍👧‍👦 and ünïcödé', 'https://example.com/path?q=1&r=two#frag', '=====================', `${' '.repeat(300)}x`,
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    ];
    for (const s of samples) expect(count(s), s).toBe(reference(s));
  });

  it('agree with gpt-tokenizer on random text', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.array(fc.constantFrom('the', ' The', 'ing', "'s", ' ', '  ', '\n', '\r\n', '12345', '.', '!!', 'é', '日本', '🎉', 'ſ', 'Cat', 'HTTP'), { maxLength: 60 }).map((a) => a.join('')),
    );
    fc.assert(fc.property(text, (s) => {
      fc.pre(!s.includes('<|'));
      expect(count(s)).toBe(reference(s));
    }), { numRuns: 2000 });
  });

  it('counts a special token\'s text as ordinary text, and long runs of one character', () => {
    expect(count('a <|endoftext|> b')).toBe(reference('a <|endoftext|> b', { disallowedSpecial: new Set() }));
    // (gpt-tokenizer takes seconds for 200,000 spaces: its merges are quadratic. These take milliseconds.)
    for (const run of [' '.repeat(20_000), 'z'.repeat(5_000), '-'.repeat(5_000)]) expect(count(run)).toBe(reference(run));
  });
});
