/**
 * The abort switch of one call. undici takes any EventEmitter that emits 'abort' as a request
 * signal; an emitter costs a fraction of an AbortController, which matters once per call.
 */
import { EventEmitter } from 'node:events';
import type { CallSignal } from '../core/ports.js';

/** Why a call was ended before its provider finished: its caller left, or Bursar is stopping and its grace ran out. */
export type AbortReason = 'client_disconnected' | 'service_stopping';

export class CallAbort extends EventEmitter implements CallSignal {
  aborted = false;
  reason: AbortReason | null = null;

  abort(reason: AbortReason = 'client_disconnected'): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}
