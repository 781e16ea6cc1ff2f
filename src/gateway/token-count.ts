/**
 * Token counts for when a provider sends no usage (a cut stream, a provider without a usage
 * block): o200k_base, the encoding of current OpenAI models and a close estimate for others.
 * Lines counted this way are flagged as estimated. The vocabulary (~7 MB, o200k.ts) is read on
 * first use.
 */
import { promptText } from './endpoints.js';
import { countWith, o200k } from './o200k.js';

export function countTokens(text: string): number {
  return text === '' ? 0 : countWith(o200k(), text);
}

/** Prompt tokens of a request: its text plus the few tokens of framing each message adds. */
export function countPromptTokens(body: Record<string, unknown>): number {
  const { text, parts } = promptText(body);
  return countTokens(text) + 4 * parts + 3;
}
