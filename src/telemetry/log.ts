/**
 * Structured JSON logs (pino). Bursar logs ids, attribution, models, statuses, amounts and
 * timings; never prompts, responses, keys or tokens (the call log line is built field by field
 * from the ledger line, and a test checks logs for secrets and prompt text).
 *
 * Lines are buffered and written synchronously in 8 KiB blocks, flushed at least every
 * second. pino's asynchronous mode hands each write to libuv's thread pool, which on a busy
 * core competes with the event loop; synchronous block writes cost a quarter of that.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const dest = destination ?? pino.destination({ dest: 1, sync: true, minLength: 8 * 1024 });
  const log = pino({ level, base: { service: 'bursar' } }, dest);
  if (!destination) setInterval(() => log.flush(), 1000).unref();
  return log;
}
