/**
 * Deterministic text and token counts for the simulator: the same request gets the same
 * answer, with a realistic number of tokens (about one per word, four bytes per prompt token).
 */

const WORDS = (
  'the order left our hub on Sunday and is most likely delayed rather than lost we will send a replacement ' +
  'if it has not moved by Friday or refund you in full your account shows two open tickets the café team in ' +
  'Lyon confirmed stock levels for next quarter forecast revenue grew eight percent while costs held steady ' +
  'naïve estimates overstate demand résumé screening finished for twelve candidates 東京 の 配送 は 順調 です ' +
  'please review the attached contract clause on liability before signing 🙂 the summary covers risks owners and dates'
).split(' ');

export function hashText(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Words of a deterministic answer of `count` tokens. */
export function answerWords(seed: number, count: number): string[] {
  const out: string[] = [];
  let x = seed || 1;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(WORDS[x % WORDS.length]!);
  }
  return out;
}

/** How long an answer is: 20-199 tokens, never past the caller's cap. */
export function answerLength(seed: number, cap: number | null): { tokens: number; truncated: boolean } {
  const natural = 20 + (seed % 180);
  if (cap !== null && cap < natural) return { tokens: Math.max(cap, 1), truncated: true };
  return { tokens: natural, truncated: false };
}

/** Prompt tokens, the way a BPE tokenizer roughly counts English: one per four bytes, plus framing. */
export function promptTokens(body: Record<string, unknown>): number {
  let bytes = 0;
  let parts = 0;
  for (const f of ['messages', 'input', 'system', 'instructions', 'tools']) {
    const v = body[f];
    if (v === undefined) continue;
    bytes += Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v));
    parts += Array.isArray(v) ? v.length : 1;
  }
  return Math.ceil(bytes / 4) + 4 * parts + 3;
}

/** Groups words into stream pieces of one to three words. */
export function pieces(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; ) {
    const n = 1 + (i % 3);
    out.push((i === 0 ? '' : ' ') + words.slice(i, i + n).join(' '));
    i += n;
  }
  return out;
}
