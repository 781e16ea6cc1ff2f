/**
 * The abort switch of one call: a flag, its reason, and the few listeners that end the call's
 * work (its provider request, one per attempt). Not an EventEmitter, nor an AbortController:
 * either costs more to make than the rest of this, and one is made for every call.
 */
import type { CallSignal } from '../core/ports.js';

/** Why a call was ended before its provider finished: its caller left, or Bursar is stopping and its grace ran out. */
export type AbortReason = 'client_disconnected' | 'service_stopping';

export class CallAbort implements CallSignal {
  aborted = false;
  reason: AbortReason | null = null;
  private listeners: (() => void)[] | null = null;

  onAbort(listener: () => void): void {
    (this.listeners ??= []).push(listener);
  }

  abort(reason: AbortReason = 'client_disconnected'): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = null;
    if (listeners) for (const l of listeners) l();
  }
}
