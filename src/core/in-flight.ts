/**
 * The things in flight (the gateway's calls), kept as a linked list rather than a `Set` or `Map`.
 * A collection built at start-up is in V8's old generation, and V8 makes the hash table a `Set`
 * rehashes into in the same generation as the one it replaces. So a long-lived `Set` that gains
 * and loses an entry per call builds a new old-generation table every few calls. The replaced
 * table still points at the calls it held. Those dead pointers keep young calls alive through
 * every young-generation collection, until a full one has moved them to the old generation too.
 *
 * Keeping the gateway's calls in flight in a `Set` cost ~3.6 KB promoted per request and five
 * times the full collections (docs/benchmarks.md#gateway-tenth). A removed node here points at
 * nothing, so a call that ends leaves no dead pointer at it behind.
 */
export interface InFlightNode<T extends {}> {
  value: T | null;
  prev: InFlightNode<T> | null;
  next: InFlightNode<T> | null;
}

export class InFlight<T extends {}> implements Iterable<T> {
  private head: InFlightNode<T> | null = null;

  /** How many are in flight, counted (nothing on the call path asks). */
  get size(): number {
    let n = 0;
    for (let node = this.head; node; node = node.next) n++;
    return n;
  }

  /** Adds a value; the node returned removes it. */
  add(value: T): InFlightNode<T> {
    const node: InFlightNode<T> = { value, prev: null, next: this.head };
    if (this.head) this.head.prev = node;
    this.head = node;
    return node;
  }

  /** Removes a node added here (once; again does nothing), and clears its links and value. */
  remove(node: InFlightNode<T>): void {
    if (node.value === null) return;
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    node.prev = node.next = node.value = null;
  }

  /** The values in flight now, newest first (a copy: removing while going through it is safe). */
  values(): T[] {
    const out: T[] = [];
    for (let n = this.head; n; n = n.next) out.push(n.value!);
    return out;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.values()[Symbol.iterator]();
  }
}
