/**
 * The wall around the core: domain types, pricing, money and audit maths import nothing but
 * each other (and node:crypto for hashing). Adapters depend on the core, never the reverse.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CORE = join(import.meta.dirname, '..', 'src', 'core');
const files = readdirSync(CORE).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
const imports = (text: string): string[] => [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);

describe('the core', () => {
  it.each(files)('%s imports only the core and node:crypto', (f) => {
    const text = readFileSync(join(CORE, f), 'utf8');
    for (const spec of imports(text)) {
      const ok = spec === 'node:crypto' || (spec.startsWith('./') && !spec.includes('/', 2));
      expect(ok, `${f} imports ${spec}`).toBe(true);
    }
  });

  it.each(files)('%s names no provider or model', (f) => {
    const text = readFileSync(join(CORE, f), 'utf8').toLowerCase();
    for (const name of ['gpt-', 'claude', 'gemini', 'azure', 'bedrock', 'vertex']) expect(text.includes(name), `${f} mentions ${name}`).toBe(false);
  });
});
