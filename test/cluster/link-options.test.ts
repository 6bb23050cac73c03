// One check of a link's options for both engines (cluster/supervisor/network.ts).
import { describe, expect, it } from 'vitest';
import { linkOptionsProblem } from '../../cluster/supervisor/network.js';

describe('linkOptionsProblem', () => {
  it('takes delay and jitter in ms up to an hour, loss and duplication from 0 to 1', () => {
    expect(linkOptionsProblem({})).toBeNull();
    expect(linkOptionsProblem({ delayMs: 3_600_000, jitterMs: 0, loss: 1, duplicate: 0.5 })).toBeNull();
  });

  it.each([{ delayMs: -1 }, { delayMs: Number.NaN }, { jitterMs: 3_600_001 }, { loss: 1.5 }, { loss: Number.NaN }, { duplicate: -0.1 }])('refuses %o in one line', (options) => {
    expect(linkOptionsProblem(options)).toBe('delayMs and jitterMs must be from 0 to 3600000, loss and duplicate from 0 to 1');
  });
});
