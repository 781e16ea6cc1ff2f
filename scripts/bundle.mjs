// Bundles the compiled server (dist/cli/main.js) into dist/bursar.mjs, which is what `bursar` and
// `npm start` run. Node keeps every loaded module's source text and bytecode in memory; one
// tree-shaken bundle without whitespace keeps the gateway ~15 MB smaller at start and under load
// (docs/benchmarks.md). What only some installations use (PostgreSQL and Redis for scale-out,
// e-mail, single sign-on, Parquet and CSV imports) is imported dynamically, so it lands in chunks
// under dist/chunks/ that an embedded gateway never loads. Identifiers are not minified, so stack
// traces stay readable.
// esbuild's keepNames is off: it wraps every function expression in a call that redefines its
// `name`, which ran for each closure a call makes (a few µs per call under load), while it only
// matters where two modules' functions or classes of one name collide (one then shows as `name2`
// in a stack trace or a logged error's type; nothing depends on those names for behaviour).
import { rmSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { build } from 'esbuild';

// Chunks are named by their content's hash: drop the last build's.
rmSync('dist/chunks', { recursive: true, force: true });

const { metafile } = await build({
  entryPoints: ['dist/cli/main.js'],
  outdir: 'dist',
  entryNames: 'bursar',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  // Maps beside the bundle (linked, read only under node --enable-source-maps): stack traces and
  // profiles (bench/gateway/perf-diff.mjs) can name the module and line of minified code.
  sourcemap: 'linked',
  // Native addon.
  external: ['better-sqlite3'],
  banner: { js: "import { createRequire as __bursarRequire } from 'node:module'; const require = __bursarRequire(import.meta.url);" },
  logLevel: 'warning',
  metafile: true,
});

// Which packages each file of the bundle holds (its own code as "bursar"): the test that keeps
// the optional parts out of an embedded start reads it, and so can anyone sizing the bundle.
const packages = {};
for (const [file, out] of Object.entries(metafile.outputs)) {
  if (file.endsWith('.map')) continue;
  const names = new Set(Object.keys(out.inputs).map((i) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(i)?.[1] ?? 'bursar'));
  packages[relative('dist', file)] = [...names].sort();
}
writeFileSync('dist/chunks/packages.json', `${JSON.stringify(packages, null, 1)}\n`);
