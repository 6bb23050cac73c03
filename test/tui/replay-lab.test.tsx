// The figure-8 screen, drawn from a real ReplaySession (no process): it shows
// the five logs, moves one message per Space, and fits 80×24.

import { describe, expect, it } from 'vitest';
import { findReplayLab, ReplaySession } from '../../labs/index.js';
import { ReplayLabView } from '../../tui/replay-lab.js';
import { renderAt, waitForFrame } from './helpers.js';


describe('the replay lab screen', () => {
  it('shows every node, steps one message per Space, and fits 80×24', async () => {
    const session = new ReplaySession(findReplayLab('figure-8')!, { mode: 'interactive', progress: null });
    const rendered = renderAt(<ReplayLabView session={session} color={false} size={{ columns: 80, rows: 24 }} />, 80);
    const first = await waitForFrame(rendered, (f) => f.includes('n5'));
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) expect(first).toMatch(new RegExp(`^${id} `, 'm'));
    rendered.stdin.write(' ');
    await waitForFrame(rendered, (f) => f.includes('(a) n1 leads term 2'));
    rendered.stdin.write(' ');
    const frame = await waitForFrame(rendered, (f) => f.includes('n1 campaigns'));
    expect(session.getState().frame.steps).toHaveLength(2);
    for (let i = 0; i < 60; i++) session.stepOnce();
    const busy = await waitForFrame(rendered, (f) => f.includes('~t4'));
    for (const text of [frame, busy]) {
      const lines = text.split('\n');
      expect(lines.length).toBeLessThanOrEqual(24);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    }
    rendered.unmount();
  });

  it('Enter before the replay ends says what is missing; A finishes the step', async () => {
    const session = new ReplaySession(findReplayLab('figure-8')!, { mode: 'interactive', progress: null });
    const rendered = renderAt(<ReplayLabView session={session} color={false} size={{ columns: 100, rows: 30 }} />, 100);
    await waitForFrame(rendered, (f) => f.includes('n5'));
    rendered.stdin.write('\r');
    await waitForFrame(rendered, (f) => f.includes('keep pressing Space'));
    rendered.stdin.write('A');
    await waitForFrame(rendered, (f) => f.includes('step 2/3'));
    expect(session.getState().steps[0]!.by).toBe('autopilot');
    rendered.unmount();
  });

  it('the debrief fits 80×24 and scrolls with the arrows', async () => {
    const session = new ReplaySession(findReplayLab('figure-8')!, { mode: 'interactive', progress: null });
    for (let i = 0; i < 3; i++) session.runAutopilot();
    const rendered = renderAt(<ReplayLabView session={session} color={false} size={{ columns: 80, rows: 24 }} />, 80);
    const frame = await waitForFrame(rendered, (f) => f.includes('Debrief'));
    expect(frame.split('\n').length).toBeLessThanOrEqual(24);
    expect(frame).toMatch(/^lab figure-8 · finished/);
    expect(frame).toContain('↑↓ scroll');
    for (let i = 0; i < 30; i++) rendered.stdin.write('\u001b[B');
    const scrolled = await waitForFrame(rendered, (f) => f.includes('travel') );
    expect(scrolled.split('\n').length).toBeLessThanOrEqual(24);
    rendered.unmount();
  });
});
