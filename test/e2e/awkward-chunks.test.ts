/**
 * Streams that arrive in awkward pieces (a byte at a time, or 7 bytes at a time, so events and
 * multi-byte characters are split) reach both SDKs intact, with exact usage recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
let secret: string;

beforeAll(async () => {
  t = await startTestBursar();
  ({ secret } = await t.key({ department: 'support' }));
});
afterAll(() => t.close());

async function openaiText(): Promise<string> {
  const s = await t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', max_tokens: 60, stream: true, messages: [{ role: 'user', content: 'Write about the café in 東京 🙂' }] });
  let text = '';
  for await (const c of s) text += c.choices[0]?.delta?.content ?? '';
  return text;
}

async function anthropicText(): Promise<string> {
  const s = t.anthropic(secret).messages.stream({ model: 'claude-haiku-4-5', max_tokens: 60, messages: [{ role: 'user', content: 'Write about the café in 東京 🙂' }] });
  return (await s.finalText());
}

describe.each([1, 7])('provider writes %i byte(s) at a time', (split) => {
  it('the OpenAI stream is intact and its usage exact', async () => {
    t.sim.options = {};
    const whole = await openaiText();
    t.sim.options = { splitBytes: split };
    const pieces = await openaiText();
    expect(pieces).toBe(whole);
    expect(/[^\x00-\x7F]/.test(whole)).toBe(true);
    const last = (await t.lines()).filter((l) => l.endpoint === 'chat').at(-1)!;
    expect(last).toMatchObject({ status: 'ok', usageExact: true });
    expect(last.tokens.output).toBe(60);
  });

  it('the Anthropic stream is intact and its usage exact', async () => {
    t.sim.options = {};
    const whole = await anthropicText();
    t.sim.options = { splitBytes: split };
    expect(await anthropicText()).toBe(whole);
    const last = (await t.lines()).filter((l) => l.endpoint === 'messages').at(-1)!;
    expect(last).toMatchObject({ status: 'ok', usageExact: true });
    expect(last.tokens.output).toBe(60);
  });
});
