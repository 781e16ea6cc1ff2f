/**
 * Token counts in OpenAI's o200k_base encoding, read from gpt-tokenizer's copy of the encoding's
 * file (200,000 byte strings, each with its rank). gpt-tokenizer's own encoder holds them as
 * JavaScript strings in maps: 35 MB resident, 64 MB at its peak while it loads. Counting needs
 * only a rank per byte string, so here they are typed arrays (about 7 MB, built in one pass over
 * the file's bytes) and the merges run on byte offsets. The test checks agreement with
 * gpt-tokenizer's counts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** How o200k_base splits text into pieces before merging each piece's bytes (the encoding's definition). */
const CONTRACTION = String.raw`(?:'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE]))?`;
const SPLIT = new RegExp(
  String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+${CONTRACTION}` +
  String.raw`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*${CONTRACTION}` +
  String.raw`|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
  'gu',
);

/** base64 alphabet: a character code's 6-bit value, or -1 (padding, line ends). */
const SEXTET = new Int8Array(128).fill(-1);
[...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].forEach((ch, i) => (SEXTET[ch.charCodeAt(0)] = i));

const fnv = (b: Uint8Array, from: number, to: number): number => {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h >>> 0;
};

/** Byte strings and their ranks: the strings end to end in one buffer, found by an open-addressed hash table. */
export class Vocabulary {
  private constructor(
    private readonly bytes: Uint8Array,
    /** Where each string starts in `bytes` (one more entry: the end). */
    private readonly starts: Uint32Array,
    private readonly ranks: Uint32Array,
    /** Each slot: a string's index + 1, or 0. */
    private readonly slots: Int32Array,
  ) {}

  /** Parses a tiktoken file: a line per string, its base64 then a space then its rank. */
  static parse(file: Uint8Array): Vocabulary {
    let lines = 0;
    for (const c of file) if (c === 10) lines++;
    const bytes = new Uint8Array(file.length);
    const starts = new Uint32Array(lines + 2);
    const ranks = new Uint32Array(lines + 1);
    let n = 0;
    let out = 0;
    for (let i = 0; i < file.length;) {
      starts[n] = out;
      let acc = 0;
      let bits = 0;
      for (; i < file.length && file[i] !== 32; i++) {
        const v = SEXTET[file[i]!]!;
        if (v < 0) continue;
        acc = ((acc << 6) | v) & 0xffffff;
        bits += 6;
        if (bits >= 8) bytes[out++] = (acc >> (bits -= 8)) & 0xff;
      }
      let rank = 0;
      for (i++; i < file.length && file[i] !== 10; i++) rank = rank * 10 + file[i]! - 48;
      i++;
      if (out > starts[n]!) ranks[n++] = rank;
    }
    starts[n] = out;
    let size = 1;
    while (size < n * 2.5) size <<= 1;
    const slots = new Int32Array(size);
    for (let k = 0; k < n; k++) {
      let h = fnv(bytes, starts[k]!, starts[k + 1]!) & (size - 1);
      while (slots[h] !== 0) h = (h + 1) & (size - 1);
      slots[h] = k + 1;
    }
    return new Vocabulary(bytes.slice(0, out), starts.slice(0, n + 1), ranks.slice(0, n), slots);
  }

  get size(): number {
    return this.ranks.length;
  }

  /** The rank of b[from, to), or -1 when it is not a token. */
  rankOf(b: Uint8Array, from: number, to: number): number {
    const mask = this.slots.length - 1;
    const len = to - from;
    for (let h = fnv(b, from, to) & mask; ; h = (h + 1) & mask) {
      const k = this.slots[h]! - 1;
      if (k < 0) return -1;
      const s = this.starts[k]!;
      if (this.starts[k + 1]! - s !== len) continue;
      let i = 0;
      while (i < len && this.bytes[s + i] === b[from + i]) i++;
      if (i === len) return this.ranks[k]!;
    }
  }
}

/** Working space for merging one piece, grown to the longest piece met. */
let next = new Int32Array(256);
let prev = new Int32Array(256);
let pairRank = new Int32Array(256);

/**
 * How many tokens b[0, n) merges into: byte-pair merging, the pair of lowest rank first (the
 * leftmost of equal ranks), as the encoding defines it. Pairs wait in a heap, so a long piece
 * (a run of spaces, say) costs n log n, not n².
 */
function mergedCount(v: Vocabulary, b: Uint8Array, n: number): number {
  if (n === 1 || v.rankOf(b, 0, n) >= 0) return 1;
  if (next.length <= n) [next, prev, pairRank] = [new Int32Array(n * 2), new Int32Array(n * 2), new Int32Array(n * 2)];
  // Part i spans [i, next[i]); pairRank[i] is the rank of it merged with the part after it (-1: none).
  const heap: number[] = [];
  const pairOf = (i: number): void => {
    const r = next[i]! < n ? v.rankOf(b, i, next[next[i]!]!) : -1;
    pairRank[i] = r;
    // Keyed by rank, then by position: the leftmost of equal ranks comes first.
    if (r >= 0) heapPush(heap, r * 2 ** 32 + i);
  };
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  next[n] = n;
  for (let i = 0; i < n - 1; i++) pairOf(i);
  pairRank[n - 1] = -1;
  let parts = n;
  while (heap.length) {
    const top = heapPop(heap);
    const i = top % 2 ** 32;
    // Stale: the part was merged away or its pair changed since.
    if (pairRank[i] !== (top - i) / 2 ** 32) continue;
    const j = next[i]!;
    next[i] = next[j]!;
    if (next[j]! < n) prev[next[j]!] = i;
    pairRank[j] = -1;
    parts--;
    pairOf(i);
    if (prev[i]! >= 0) pairOf(prev[i]!);
  }
  return parts;
}

function heapPush(h: number[], x: number): void {
  let i = h.push(x) - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= x) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = x;
}

function heapPop(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  if (h.length) {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= h.length) break;
      if (c + 1 < h.length && h[c + 1]! < h[c]!) c++;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}

const utf8 = new TextEncoder();
let scratch = new Uint8Array(1024);

/** Counts text's tokens; special tokens' text (`<|endoftext|>`) is counted as ordinary text. */
export function countWith(v: Vocabulary, text: string): number {
  let count = 0;
  for (const [piece] of text.matchAll(SPLIT)) {
    if (scratch.length < piece.length * 3) scratch = new Uint8Array(piece.length * 3);
    count += mergedCount(v, scratch, utf8.encodeInto(piece, scratch).written);
  }
  return count;
}

let loaded: Vocabulary | null = null;

/** The o200k_base vocabulary, read on first use. */
export function o200k(): Vocabulary {
  loaded ??= Vocabulary.parse(readFileSync(createRequire(import.meta.url).resolve('gpt-tokenizer/data/o200k_base.tiktoken')));
  return loaded;
}
