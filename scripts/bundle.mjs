// Bundles the compiled server (dist/cli/main.js) into one file, dist/bursar.mjs, which is what
// `bursar` and `npm start` run. Node keeps every loaded module's source text and bytecode in
// memory; one tree-shaken bundle without whitespace keeps the gateway ~15 MB smaller at start
// and under load (docs/benchmarks.md). Identifiers are not minified, so stack traces stay readable.
// esbuild's keepNames is off: it wraps every function expression in a call that redefines its
// `name`, which ran for each closure a call makes (a few µs per call under load), while it only
// matters where two modules' functions or classes of one name collide (one then shows as `name2`
// in a stack trace or a logged error's type; nothing depends on those names for behaviour).
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
  legalComments: 'none',
  // Native addon.
  external: ['better-sqlite3'],
  banner: { js: "import { createRequire as __bursarRequire } from 'node:module'; const require = __bursarRequire(import.meta.url);" },
  logLevel: 'warning',
});
