// The lab panel, from hand-built LabSessionState values: the step, its
// instruction, ✓/✗ with the check's detail, the hint on ?, n and A calling the
// session, the message when the check has not passed, the debrief once
// finished, a fresh cluster when the lab replaces it, and the fit at 80×24.
// No process is started: the cluster is a recorded one.

import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { LabSession, LabSessionState } from '../../labs/index.js';
import { DebriefPane, LabPanel } from '../../tui/components/lab-panel.js';
import { Dashboard, type LabView } from '../../tui/dashboard.js';
import type { LabController } from '../../tui/lab-controller.js';
import { LabDashboard } from '../../tui/lab-dashboard.js';
import { frame, recording, RecordedController } from './fixtures/recorded-controller.js';
import { keys, press, renderAt, until, waitForFrame, waitForText } from './helpers.js';

afterEach(() => {
  cleanup();
});

const steps = ['Write through the leader', 'Write to a follower', 'Read from a follower', 'Slow a link and watch lag', 'Heal and catch up'];

function labState(over: Partial<LabSessionState> & { stepIndex?: number; passed?: boolean; detail?: string } = {}): LabSessionState {
  const stepIndex = over.stepIndex ?? 1;
  const passed = over.passed ?? false;
  const detail = over.detail ?? (passed ? 'n3 refused the write and named n2 as the leader' : 'no write has been sent to a follower yet');
  const { passed: _p, detail: _d, ...rest } = over;
  return {
    lab: { id: 'first-steps', title: 'First steps: a leader, followers and lag', level: 'beginner', minutes: 6, concepts: ['leader'], summary: 'Three nodes.' },
    phase: 'running',
    stepIndex,
    steps: steps.map((title, i) => ({ title, status: i < stepIndex || (i === stepIndex && passed) ? 'passed' : i === stepIndex ? 'current' : 'pending', detail: '', by: i < stepIndex ? (i === 0 ? 'autopilot' : 'person') : null })),
    step: {
      number: stepIndex + 1,
      title: steps[stepIndex]!,
      instruction: "Send a write straight to a follower, as a client with an old address would: :write n3 INSERT OR REPLACE INTO kv(k, v) VALUES ('greeting', 'hi')",
      hint: 'Followers never take writes. The refusal names the leader so a client can retry there.',
      check: { passed, detail },
    },
    autopilotRunning: false,
    debrief: null,
    clusterGeneration: 1,
    message: null,
    ...rest,
  };
}

const finishedState = (): LabSessionState =>
  labState({
    phase: 'finished',
    stepIndex: 4,
    step: null,
    steps: steps.map((title, i) => ({ title, status: 'passed', detail: 'ok', by: i === 3 ? 'autopilot' : 'person' })),
    debrief: [
      'Your write went to n2, the leader: it became log entry 24 in term 2 and was acknowledged in 11 ms, once a majority had it on disk.',
      'n3 refused a write and named n2: only the leader orders writes, so there is one history. Clients follow the hint and retry at the leader.',
      'n1 served a read from its own copy at applied index 89 (k=greeting v=hello): reads scale out across followers, but each answers as of its own progress.',
      'With 300 ms on its link, n1 fell 4 entries (612 ms) behind; a read there would have shown that much older data.',
      'After the heal every node caught up (the slowest, n1, reached index 160): lag costs freshness, not data, as long as the leader survives.',
      'Over the lab the workload had 83 writes acknowledged and 0 lost.',
    ],
  });

/** A LabController over a recorded cluster whose state the test sets by hand. */
class FakeLab implements LabController {
  cluster = new RecordedController({ frame: frame('steady'), backlog: recording.events.slice(0, 19) });
  readonly calls: string[] = [];
  nextResult = false;
  private listeners = new Set<(state: LabSessionState) => void>();
  constructor(public state: LabSessionState) {}
  getState = () => this.state;
  subscribe(listener: (state: LabSessionState) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  set(state: LabSessionState): void {
    this.state = state;
    for (const listener of this.listeners) listener(state);
  }
  async next() {
    this.calls.push('next');
    if (!this.nextResult) this.set({ ...this.state, message: 'the check has not passed yet: do the step (? shows a hint)' });
    return this.nextResult;
  }
  async runAutopilot() {
    this.calls.push('autopilot');
    return { passed: true, detail: 'n3 refused the write and named n2 as the leader', autopilotError: null };
  }
  async stop() {
    this.calls.push('stop');
  }
}

function renderLab(lab: FakeLab, columns = 80, rows = 24) {
  return renderAt(<LabDashboard session={lab} color={false} size={{ columns, rows }} pollMs={5} now={() => lab.cluster.current.atMs} />, columns);
}

describe('the lab panel', () => {
  it('takes the real LabSession', () => {
    expectTypeOf<LabSession>().toExtend<LabController>();
  });

  it('shows the lab, the step, its instruction, ✗ with the detail, and the lab keys', () => {
    const rendered = renderAt(<LabPanel state={labState()} width={100} rows={6} color={false} />, 100);
    const screen = rendered.lastFrame()!;
    expect(screen).toContain('Lab: First steps: a leader, followers and lag — step 2/5: Write to a follower');
    expect(screen.split('\n').join(' ')).toContain(":write n3 INSERT OR REPLACE INTO kv(k, v) VALUES ('greeting', 'hi')");
    expect(screen).toContain('✗ no write has been sent to a follower yet');
    expect(screen).toContain('n next step · A do this step for me · ? hint');
  });

  it('shows ✓ with the detail once the check passed, and says n moves on', () => {
    const rendered = renderAt(<LabPanel state={labState({ passed: true })} width={100} rows={6} color={false} />, 100);
    expect(rendered.lastFrame()).toContain('✓ n3 refused the write and named n2 as the leader — n: next step');
  });

  it('shows the session message instead of the keys, and the autopilot at work', () => {
    const message = renderAt(<LabPanel state={labState({ message: 'the check has not passed yet: do the step (? shows a hint)' })} width={100} rows={6} color={false} />, 100);
    expect(message.lastFrame()).toContain('! the check has not passed yet: do the step (? shows a hint)');
    const busy = renderAt(<LabPanel state={labState({ autopilotRunning: true })} width={100} rows={6} color={false} />, 100);
    expect(busy.lastFrame()).toContain('… the autopilot is doing this step');
  });

  it('cuts the instruction with … when its rows are few, keeping the check and the keys', () => {
    const rendered = renderAt(<LabPanel state={labState()} width={40} rows={4} color={false} />, 40);
    const rows = rendered.lastFrame()!.split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[1]).toMatch(/…$/);
    expect(rows[2]).toContain('✗ no write has been sent');
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(40);
  });

  it('lists the steps when there is room', () => {
    const rendered = renderAt(<LabPanel state={labState()} width={100} rows={14} color={false} />, 100);
    const screen = rendered.lastFrame()!;
    expect(screen).toContain('✓ 1. Write through the leader (autopilot)');
    expect(screen).toContain('▸ 2. Write to a follower');
    expect(screen).toContain('  5. Heal and catch up');
  });

  it('shows the debrief once finished, scrolls it, and says how to quit', () => {
    const top = renderAt(<DebriefPane state={finishedState()} width={80} rows={12} scroll={0} color={false} />, 80);
    const screen = top.lastFrame()!;
    expect(screen).toContain('Lab complete: First steps: a leader, followers and lag');
    expect(screen).toContain('✓ 4. Slow a link and watch lag (autopilot)');
    expect(screen).toMatch(/q quits \(stops every node\) · lines 1–11 of \d+, ↑↓ PgUp PgDn scroll/);
    const bottom = renderAt(<DebriefPane state={finishedState()} width={80} rows={12} scroll={99} color={false} />, 80);
    expect(bottom.lastFrame()).toContain('83 writes acknowledged and 0 lost');
  });
});

describe('the dashboard in a lab', () => {
  it('fits 80×24 with the panel under the charts and the event log', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab);
    const screen = await waitForText(rendered, 'elected leader');
    const rows = screen.split('\n');
    expect(rows).toHaveLength(23);
    for (const row of rows) expect(row.length).toBeLessThanOrEqual(80);
    expect(rows[5]).toMatch(/^replay lag/);
    expect(screen).toContain('events');
    const panel = rows.findIndex((row) => row.startsWith('Lab: '));
    expect(rows[panel]).toBe('Lab: First steps: a leader, followers and lag — step 2/5: Write to a follower');
    expect(rows.slice(panel + 1, panel + 3).join(' ')).toContain(":write n3 INSERT OR REPLACE INTO kv(k, v) VALUES ('greeting', 'hi')");
    expect(rows[panel + 3]).toBe('✗ no write has been sent to a follower yet');
    expect(rows[panel + 4]).toContain('n next step · A do this step for me');
    expect(rows[22]).toMatch(/q quit$/);
  });

  it('uses more room when there is more: the full title and the step list at 120×40', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab, 120, 40);
    const screen = await waitForText(rendered, 'elected leader');
    expect(screen.split('\n')).toHaveLength(39);
    expect(screen).toContain('Lab: First steps: a leader, followers and lag — step 2/5: Write to a follower');
    expect(screen).toContain('▸ 2. Write to a follower');
  });

  it('shows the hint at the top of ? with the lab keys', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab);
    await waitForText(rendered, 'elected leader');
    await press(rendered, '?');
    const screen = await waitForText(rendered, 'hint, step 2/5: Write to a follower');
    expect(screen).toContain('Followers never take writes.');
    expect(screen).toContain('A           do this step for me (the autopilot)');
    await press(rendered, keys.escape);
    await waitForText(rendered, 'Lab: First steps');
  });

  it('n calls next() and shows the message when it returns false', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab);
    await waitForText(rendered, 'elected leader');
    await press(rendered, 'n');
    await waitForText(rendered, '! the check has not passed yet: do the step (? shows a hint)');
    expect(lab.calls).toEqual(['next']);
  });

  it('n moves on when the check passed: the panel shows the next step', async () => {
    const lab = new FakeLab(labState({ passed: true }));
    lab.nextResult = true;
    const rendered = renderLab(lab);
    await waitForText(rendered, '✓ n3 refused the write');
    await press(rendered, 'n');
    await until(() => lab.calls.includes('next'));
    lab.set(labState({ stepIndex: 2, step: { ...labState().step!, number: 3, title: 'Read from a follower', instruction: 'Read the row on a follower: :read n3 SELECT 1', check: { passed: false, detail: 'no local read on a follower yet' } } }));
    await waitForText(rendered, 'step 3/5: Read from a follower');
  });

  it('A runs the autopilot and says what it did', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab);
    await waitForText(rendered, 'elected leader');
    await press(rendered, 'A');
    await waitForText(rendered, '✓ the autopilot did step 2: n3 refused the write and named n2 as the leader');
    expect(lab.calls).toEqual(['autopilot']);
  });

  it('shows the debrief in place of the charts once finished, ↓ scrolls it, q stops the session', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab);
    await waitForText(rendered, 'elected leader');
    lab.set(finishedState());
    const screen = await waitForText(rendered, 'Lab complete');
    expect(screen).not.toContain('replay lag');
    expect(screen).toContain('q quits (stops every node)');
    expect(screen.split('\n')).toHaveLength(23);
    await press(rendered, keys.down);
    await waitForFrame(rendered, (text) => /lines 2–/.test(text));
    await press(rendered, 'q');
    await until(() => lab.calls.includes('stop'));
    expect(lab.cluster.stopped).toBe(false);
  });

  it('says a fresh cluster is starting, then drives the new one', async () => {
    const lab = new FakeLab(labState());
    const rendered = renderLab(lab);
    await waitForText(rendered, 'elected leader');
    lab.set({ ...labState(), phase: 'restarting-cluster' });
    await waitForText(rendered, 'starting a fresh cluster for this step');
    const fresh = new RecordedController({ frame: frame('steady') });
    lab.cluster = fresh;
    lab.set({ ...labState(), clusterGeneration: 2 });
    await waitForText(rendered, 'Lab: First steps');
    await until(() => fresh.calls.length > 0 || fresh.listenerCount('event') > 0);
    expect(fresh.listenerCount('event')).toBe(1);
  });

  it('a Dashboard without a lab is unchanged: no panel', async () => {
    const controller = new RecordedController({ frame: frame('steady'), backlog: recording.events.slice(0, 19) });
    const rendered = renderAt(<Dashboard controller={controller} failover="raft" color={false} size={{ columns: 80, rows: 24 }} pollMs={5} now={() => controller.current.atMs} />, 80);
    const screen = await waitForText(rendered, 'elected leader');
    expect(screen).not.toContain('Lab:');
    const view: LabView | undefined = undefined;
    expect(view).toBeUndefined();
  });
});
