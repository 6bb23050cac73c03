import fc from 'fast-check';
import { expect, it } from 'vitest';
import { Ring } from '../../cluster/supervisor/ring.js';

it('holds the last max items, oldest first, like an array trimmed from the front', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.integer(), { maxLength: 100 }), (max, items) => {
      const ring = new Ring<number>(max);
      for (const item of items) ring.push(item);
      expect(ring.toArray()).toEqual(items.slice(-max));
      expect(ring.size).toBe(Math.min(max, items.length));
    }),
  );
  expect(() => new Ring(0)).toThrow(RangeError);
});
