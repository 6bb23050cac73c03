// The message pane in the whole dashboard: v puts it in the event log's place
// within 80×24, Space freezes it and the log (the header says FROZEN) while
// updates keep arriving, ↑ scrolls back, and Space or Esc resumes.

import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageRecord, MessagesView } from '../../cluster/index.js';
import { messageRecord } from '../../cluster/message-report.js';
import { frame, recording, RecordedController } from './fixtures/recorded-controller.js';
import { keys, press, renderDashboard, waitForFrame, waitForText } from './helpers.js';

afterEach(() => {
  cleanup();
});

class MessagesController extends RecordedController {
  view: MessagesView = { windowMs: 60_000, records: [], links: [], droppedRecords: 0, reportedAtMs: {} };
  messages(): MessagesView {
    return this.view;
  }
}

const vote = (atMs: number, from: string, to: string, term: number, dir: 'out' | 'in' = 'out'): MessageRecord =>
  messageRecord({ atMs, dir, from, to, type: 'vote', term, lastIndex: 9, lastTerm: term - 1 });

function controller(): MessagesController {
  const c = new MessagesController({ frame: frame('steady'), backlog: recording.events.slice(0, 19) });
  const at = c.current.atMs;
  const records = Array.from({ length: 12 }, (_, i) => [vote(at - 5_000 + i * 10, 'n2', i % 2 === 0 ? 'n1' : 'n3', i + 2), vote(at - 4_999 + i * 10, 'n2', i % 2 === 0 ? 'n1' : 'n3', i + 2, 'in')]).flat();
  c.view = { ...c.view, records };
  return c;
}

describe('the message pane in the dashboard', () => {
  it('v shows it in the event log’s place, within 80×24, and v again brings the log back', async () => {
    const c = controller();
    const rendered = renderDashboard(c, { columns: 80, rows: 24 });
    await waitForText(rendered, 'elected leader');
    await press(rendered, 'v');
    const screen = await waitForText(rendered, 'messages live');
    const rows = screen.split('\n');
    expect(rows).toHaveLength(23);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(80);
    expect(screen).toContain('n2→n3 vote t13 · log 9@t12');
    expect(screen).not.toContain('elected leader');
    expect(rows.at(-1)).toMatch(/\? help {2}q quit$/);
    await press(rendered, 'v');
    await waitForFrame(rendered, (s) => s.includes('elected leader') && !s.includes('messages live'));
  });

  it('Space freezes the pane while updates arrive; ↑ scrolls back; Esc resumes and shows what came meanwhile', async () => {
    const c = controller();
    const rendered = renderDashboard(c, { columns: 80, rows: 24 });
    await waitForText(rendered, 'elected leader');
    await press(rendered, 'v', ' ');
    const frozen = await waitForText(rendered, 'FROZEN at');
    expect(frozen.split('\n')[0]).toMatch(/FROZEN$/);
    expect(frozen).toContain('Space resume');
    const at = c.current.atMs;
    c.view = { ...c.view, records: [...c.view.records, vote(at - 100, 'n3', 'n1', 99), vote(at - 99, 'n3', 'n1', 99, 'in')] };
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rendered.lastFrame()).not.toContain('t99');
    const newest = /(\d+)–(\d+) of 12/.exec(rendered.lastFrame() ?? '');
    expect(newest).not.toBeNull();
    await press(rendered, keys.up, keys.up);
    const scrolled = await waitForText(rendered, `${Number(newest![1]) - 2}–${Number(newest![2]) - 2} of 12`);
    expect(scrolled).toContain('FROZEN');
    await press(rendered, keys.escape);
    const live = await waitForText(rendered, 'n3→n1 vote t99');
    expect(live.split('\n')[0]).not.toContain('FROZEN');
    expect(live).toContain('messages live');
  });

  it('Space freezes the event log too: events that arrive meanwhile show once it resumes', async () => {
    const c = controller();
    const rendered = renderDashboard(c, { columns: 80, rows: 24 });
    await waitForText(rendered, 'elected leader');
    await press(rendered, ' ');
    await waitForText(rendered, 'FROZEN');
    c.emitEvents([{ atMs: c.current.atMs, event: { type: 'fault', fault: 'heal', detail: 'every link restored' } }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(rendered.lastFrame()).not.toContain('fault: every link restored');
    await press(rendered, ' ');
    await waitForText(rendered, 'fault: every link restored');
  });
});
