// The last N items, oldest first: a fixed array written round, so adding is
// O(1) however full it is (an array trimmed with shift() or splice(0, 1) moves
// every item on each add once full).

export class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`Ring max must be a whole number >= 1, got ${max}`);
  }

  /** Adds `item`; once `max` are held, the oldest goes. */
  push(item: T): void {
    if (this.items.length < this.max) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.max;
  }

  get size(): number {
    return this.items.length;
  }

  /** A copy, oldest first. */
  toArray(): T[] {
    return this.items.length < this.max ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}
