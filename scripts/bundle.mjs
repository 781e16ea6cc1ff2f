// Bundles the compiled server (dist/cli/main.js) into one file, dist/bursar.mjs, which is what
// `bursar` and `npm start` run. Node keeps every loaded module's source text and bytecode in
// memory; one tree-shaken bundle without whitespace keeps the gateway ~15 MB smaller at start
// and under load (docs/benchmarks.md). Identifiers are kept, so stack traces stay readable.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/main.js'],
  outfile: 'dist/bursar.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  // Native addon, and the tokenizer's 70 MB of data (loaded only when a provider sends no usage).
  external: ['better-sqlite3', 'gpt-tokenizer'],
  banner: { js: "import { createRequire as __bursarRequire } from 'node:module'; const require = __bursarRequire(import.meta.url);" },
  logLevel: 'warning',
});
