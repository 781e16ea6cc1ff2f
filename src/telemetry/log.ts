/**
 * Structured JSON logs (pino). Bursar logs ids, attribution, models, statuses, amounts and
 * timings; never prompts, responses, keys or tokens. The redaction list is a second line of
 * defence for anything that slips into a log object by mistake.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bursar' },
      redact: {
        paths: ['authorization', 'headers.authorization', 'headers["x-api-key"]', '*.apiKey', '*.secret', 'secret', 'token', 'messages', 'prompt', 'input'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}
