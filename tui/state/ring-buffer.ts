// A bounded history for the charts: keeps the newest `capacity` items and
// forgets the rest. Persistent (push returns a new buffer) so the dashboard's
// reducer stays pure; at 120 samples a copy costs nothing.

export class RingBuffer<T> {
  private constructor(
    readonly capacity: number,
    private readonly items: readonly T[],
  ) {}

  static empty<T>(capacity: number): RingBuffer<T> {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new Error(`ring buffer capacity must be a whole number >= 1, got ${capacity}`);
    return new RingBuffer<T>(capacity, []);
  }

  /** A buffer with `item` added as the newest, dropping the oldest when full. */
  push(item: T): RingBuffer<T> {
    const kept = this.items.length >= this.capacity ? this.items.slice(this.items.length - this.capacity + 1) : this.items;
    return new RingBuffer(this.capacity, [...kept, item]);
  }

  /** A buffer with the newest item replaced (or `item` added, when empty). */
  replaceNewest(item: T): RingBuffer<T> {
    if (this.items.length === 0) return this.push(item);
    return new RingBuffer(this.capacity, [...this.items.slice(0, -1), item]);
  }

  get size(): number {
    return this.items.length;
  }

  /** Oldest first. */
  toArray(): readonly T[] {
    return this.items;
  }

  newest(): T | undefined {
    return this.items[this.items.length - 1];
  }
}
