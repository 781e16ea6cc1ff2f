/**
 * The abort switch of one call. undici takes any EventEmitter that emits 'abort' as a request
 * signal; an emitter costs a fraction of an AbortController, which matters once per call.
 */
import { EventEmitter } from 'node:events';
import type { CallSignal } from '../core/ports.js';

export class CallAbort extends EventEmitter implements CallSignal {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}
