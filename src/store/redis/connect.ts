/**
 * The Redis client of the gateway's hot path. A budget check that waits on a dead Redis holds
 * up the call it guards, so the client fails fast instead of queueing: no offline queue, a
 * short command timeout, no resend of commands in flight when a connection drops (the counters
 * replay what they must themselves, with the marks that make a replay count once), and
 * reconnection with a backoff capped at one second so that service resumes soon after Redis does.
 */
import { Redis } from 'ioredis';

export interface RedisConnectOptions {
  /** How long one command may take before it fails (default 750 ms). */
  readonly commandTimeoutMs?: number;
  /** Shown by CLIENT LIST, to tell the gateway's connections apart. */
  readonly connectionName?: string;
  /**
   * Hears of connection errors. Callers of the adapters already get each failure as
   * CountersUnavailable, so the default ignores them (instead of ioredis printing each one).
   */
  readonly onError?: (err: Error) => void;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 750;
const MAX_RECONNECT_DELAY_MS = 1_000;

/** Opens a client for `url` (redis://[user:password@]host:port[/db]); it connects in the background. */
export function openRedis(url: string, opts: RedisConnectOptions = {}): Redis {
  const commandTimeout = opts.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout,
    // A connection that stops answering while commands wait is dropped, rather than left to
    // time out command after command until TCP keep-alive notices.
    socketTimeout: Math.max(commandTimeout * 4, 3_000),
    connectTimeout: 2_000,
    // Commands in flight when a connection drops fail at once rather than wait for a reconnection.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    ...(opts.connectionName ? { connectionName: opts.connectionName } : {}),
  });
  redis.on('error', opts.onError ?? (() => {}));
  return redis;
}

/** Resolves once `redis` is ready for commands; rejects after `timeoutMs`. */
export async function redisReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      if (err) reject(err);
      else resolve();
    };
    const onReady = (): void => done();
    const timer = setTimeout(() => done(new Error(`Redis was not ready within ${timeoutMs} ms (status: ${redis.status})`)), timeoutMs);
    redis.on('ready', onReady);
  });
}
