/**
 * A circuit breaker per model: after `threshold` failures in a row (429, 5xx, timeout, no
 * connection), a model is skipped for `openMs` while its route has another to try; the first
 * call after that tries it again, and one success closes the circuit.
 */
export class CircuitBreaker {
  private readonly state = new Map<string, { failures: number; openUntil: number }>();

  constructor(
    private readonly threshold = 3,
    private readonly openMs = 30_000,
  ) {}

  isOpen(model: string, now: number): boolean {
    const s = this.state.get(model);
    return s !== undefined && s.openUntil > now;
  }

  failed(model: string, now: number): void {
    const s = this.state.get(model) ?? { failures: 0, openUntil: 0 };
    s.failures++;
    if (s.failures >= this.threshold) {
      s.openUntil = now + this.openMs;
      s.failures = 0;
    }
    this.state.set(model, s);
  }

  succeeded(model: string): void {
    if (this.state.size) this.state.delete(model);
  }
}
