// The layout as a pure function: a long status message takes rows from the
// charts and the log, never so many that the terminal becomes "too small".

import { describe, expect, it } from 'vitest';
import { computeLayout, labRowsMax, statusRowsFor } from '../../tui/layout.js';

describe('the layout', () => {
  it('gives a long message up to 3 status lines, taken from the body', () => {
    const size = { columns: 80, rows: 24 };
    expect(statusRowsFor(size, 3, 1)).toBe(1);
    expect(statusRowsFor(size, 3, 3)).toBe(3);
    expect(statusRowsFor(size, 3, 9)).toBe(3);
    const one = computeLayout(size, 3);
    const three = computeLayout(size, 3, 0, 3);
    expect(three.bodyRows).toBe(one.bodyRows - 2);
    expect(three.tooSmall).toBe(false);
  });

  it('never makes 80×24 too small: 7 nodes, in a lab, or both', () => {
    const size = { columns: 80, rows: 24 };
    for (const nodes of [3, 5, 7]) {
      for (const labRowsMin of [0, 3]) {
        const statusRows = statusRowsFor(size, nodes, 9, labRowsMin);
        expect(statusRows).toBeGreaterThanOrEqual(1);
        const labRows = labRowsMin === 0 ? 0 : Math.max(labRowsMin, Math.min(8, labRowsMax(computeLayout(size, nodes, 0, statusRows).bodyRows)));
        expect(computeLayout(size, nodes, labRows, statusRows).tooSmall, `${nodes} nodes, lab ${labRowsMin}`).toBe(computeLayout(size, nodes, labRows).tooSmall);
      }
    }
    expect(statusRowsFor({ columns: 79, rows: 24 }, 3, 3)).toBe(1);
  });
});
