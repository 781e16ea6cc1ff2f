/**
 * The launcher (`./bursar`, which npm's bin links to and `npm start` runs) starts Node with
 * Bursar's heap setting, an 8 MB young-generation semi-space; an operator's own NODE_OPTIONS
 * comes after it and wins; and it finds dist/ when run through a symbolic link, as npm's bin is.
 * It also limits glibc's malloc to two arenas, unless the operator set MALLOC_ARENA_MAX. A preload
 * reports, from inside the process, the heap's limit (which the semi-space size changes) and
 * the arena setting.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const LAUNCHER = join(import.meta.dirname, '..', '..', 'bursar');
let dir: string;
let probe: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-launcher-'));
  probe = join(dir, 'probe.cjs');
  writeFileSync(
    probe,
    "process.stderr.write(`heap_size_limit=${require('node:v8').getHeapStatistics().heap_size_limit}\\narenas=${process.env.MALLOC_ARENA_MAX}\\n`);\n",
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The heap limit of a bare node run with `flags`. */
async function limitWith(flags: string): Promise<number> {
  const { stdout } = await run(process.execPath, [...flags.split(' '), '-p', "require('node:v8').getHeapStatistics().heap_size_limit"]);
  return Number(stdout.trim());
}

/** Runs `bursar config-check` through `path` in an empty folder; returns its output and what the probe saw. */
async function checkThrough(path: string, nodeOptions: string, env: Record<string, string> = {}): Promise<{ stdout: string; limit: number; arenas: string | undefined }> {
  const { MALLOC_ARENA_MAX: _, ...inherited } = process.env;
  const { stdout, stderr } = await run(path, ['config-check'], { cwd: dir, env: { ...inherited, NODE_OPTIONS: nodeOptions, ...env } });
  return { stdout, limit: Number(/heap_size_limit=(\d+)/.exec(stderr)?.[1]), arenas: /arenas=(.*)/.exec(stderr)?.[1] };
}

describe('the launcher', () => {
  it('runs Bursar with an 8 MB semi-space, directly and through a link, and yields to NODE_OPTIONS', async () => {
    const [eight, sixteen] = [await limitWith('--max-semi-space-size=8'), await limitWith('--max-semi-space-size=16')];
    expect(eight).toBeLessThan(sixteen);

    const direct = await checkThrough(LAUNCHER, `--require ${probe}`);
    expect(direct.stdout).toContain('is valid');
    expect(direct.limit).toBe(eight);

    const link = join(dir, 'bin-bursar');
    symlinkSync(LAUNCHER, link);
    const linked = await checkThrough(link, `--require ${probe}`);
    expect(linked.stdout).toContain('is valid');
    expect(linked.limit).toBe(eight);

    const operator = await checkThrough(LAUNCHER, `--max-semi-space-size=16 --require ${probe}`);
    expect(operator.limit).toBe(sixteen);
  });

  it('limits malloc to two arenas, unless the operator set MALLOC_ARENA_MAX', async () => {
    expect((await checkThrough(LAUNCHER, `--require ${probe}`)).arenas).toBe('2');
    expect((await checkThrough(LAUNCHER, `--require ${probe}`, { MALLOC_ARENA_MAX: '4' })).arenas).toBe('4');
  });
});
