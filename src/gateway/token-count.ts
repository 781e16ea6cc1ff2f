/**
 * Token counts for when a provider sends no usage (a cut stream, a provider without a usage
 * block): o200k_base, the encoding of current OpenAI models and a close estimate for others.
 * Lines counted this way are flagged as estimated. The encoder (~70 MB) loads on first use.
 */
import { promptText } from './endpoints.js';

type Counter = (text: string) => number;
let counter: Promise<Counter> | null = null;

function load(): Promise<Counter> {
  counter ??= import('gpt-tokenizer/encoding/o200k_base').then((m) => m.countTokens as Counter);
  return counter;
}

export async function countTokens(text: string): Promise<number> {
  if (text === '') return 0;
  return (await load())(text);
}

/** Prompt tokens of a request: its text plus the few tokens of framing each message adds. */
export async function countPromptTokens(body: Record<string, unknown>): Promise<number> {
  const { text, parts } = promptText(body);
  return (await countTokens(text)) + 4 * parts + 3;
}
