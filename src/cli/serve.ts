/**
 * Runs Bursar in the foreground until SIGTERM or SIGINT, finishing the calls in flight before
 * it stops: `bursar start`, and `bursar demo` once it has seeded.
 */
import { setFlagsFromString } from 'node:v8';
import type { Config } from '../config/load.js';
import type { Bursar } from '../app.js';

/** Starts Bursar on `config` and prints `banner` once it listens. */
export async function serve(config: Config, banner: (b: Bursar) => string): Promise<void> {
  // V8 lets the old generation grow to about twice its live size before collecting; a 1.5x
  // ceiling keeps the gateway's peak memory ~50 MB lower at no measurable cost (docs/benchmarks.md).
  setFlagsFromString('--heap-growing-percent=50');
  // V8 allocates straight into the old generation from an allocation site whose objects all
  // survived a young collection. Under load a site of the call path could be judged so (a burst
  // of slow calls), and then stayed so: its dead objects, already old, kept the young ones they
  // pointed at alive until a full collection, so each scavenge promoted most of what it found
  // and a full collection ran every third of a second, for the rest of the process's life (a
  // tenth to a fifth fewer streams a second, docs/benchmarks.md#gateway-seventeenth).
  setFlagsFromString('--no-allocation-site-pretenuring');
  const { startBursar } = await import('../app.js');
  // Handlers first: a signal that arrives while starting (or right after the banner) still stops cleanly.
  let stopping: Promise<void> | null = null;
  const starting = startBursar(config);
  const stop = (signal: string): void => {
    process.stderr.write(`\n${signal}: finishing calls in flight, then stopping\n`);
    stopping ??= starting.then((b) => b.close());
    stopping.then(() => process.exit(0), (err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  process.stderr.write(banner(await starting));
}
