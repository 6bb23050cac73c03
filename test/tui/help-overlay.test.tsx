// The ? overlay as a person reads it: at 80 and 120 columns no command's usage
// runs into its summary, nothing is cut at the edge, the table's words are
// explained, and it agrees with the README on the keys.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { commandSpecs } from '../../tui/commands/spec.js';
import { HelpOverlay } from '../../tui/components/help-overlay.js';
import { renderAt } from './helpers.js';

/** The whole overlay, tall enough not to scroll. */
function overlay(columns: number): string[] {
  return renderAt(<HelpOverlay width={columns} rows={200} scroll={0} color={false} />, columns)
    .lastFrame()!
    .split('\n')
    .map((line) => line.trimEnd());
}

/** Collapses the overlay's wrapping: words separated by single spaces. */
function words(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

describe('the help overlay', () => {
  it('says first why each wedged node is wedged, with its statement', () => {
    const wedged = [{ id: 'n2', reason: 'state.db failed applying entry 9 with SQLITE_FULL', statement: "DELETE FROM kv WHERE k = 'x'" }];
    const lines = renderAt(<HelpOverlay width={100} rows={200} scroll={0} color={false} wedged={wedged} />, 100)
      .lastFrame()!
      .split('\n');
    expect(lines[0]).toContain('wedged nodes');
    expect(words(lines.slice(0, 4).join(' '))).toContain("n2: state.db failed applying entry 9 with SQLITE_FULL; statement: DELETE FROM kv WHERE k = 'x'");
  });

  for (const columns of [80, 120]) {
    it(`at ${columns} columns keeps every usage apart from its summary, and cuts nothing`, () => {
      const lines = overlay(columns);
      for (const line of lines) {
        expect(line.length).toBeLessThanOrEqual(columns);
        expect(line).not.toContain('…');
      }
      for (const spec of commandSpecs) {
        const line = lines.find((candidate) => candidate.startsWith(spec.usage));
        expect(line, spec.usage).toBeDefined();
        // Either the summary starts after a gap of at least two spaces, or on the lines below.
        expect(line!.slice(spec.usage.length), spec.usage).toMatch(/^(\s{2,}\S|$)/);
      }
      const text = words(lines.join(' '));
      for (const spec of commandSpecs) expect(text, spec.usage).toContain(words(spec.summary));
    });
  }

  it('explains pre-cand (PreVote) and the node states', () => {
    const text = words(overlay(80).join(' '));
    expect(text).toMatch(/pre-cand a pre-candidate \(PreVote\): it asks the others whether it could win before it raises its term/);
    expect(text).toContain('⊘ isolated');
    expect(text).toMatch(/↻ catching up a follower still hearing from the leader/);
    expect(text).toMatch(/◷ 420ms ago each row is its node's last report, and nodes report one by one, so rows are different moments/);
  });

  it('says 1–7 selects a node, as the README does', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const readmeRow = /^\| `↑` `↓` `Tab` `(\d)`–`(\d)` \| select a node \|$/m.exec(readme);
    expect(readmeRow).not.toBeNull();
    const helpRow = overlay(80).find((line) => line.endsWith('select a node'));
    expect(helpRow).toMatch(new RegExp(`^↑↓ Tab ${readmeRow![1]}–${readmeRow![2]}\\s+select a node$`));
    expect(readmeRow!.slice(1)).toEqual(['1', '7']);
  });
});
