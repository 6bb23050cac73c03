import type { Key } from 'ink';
import { describe, expect, it } from 'vitest';
import { dashboardIntent, dashboardIntents, nextRate, type KeyContext } from '../../tui/keys/intents.js';
import { frame } from './fixtures/recorded-controller.js';

const noKey: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

const steady = frame('steady');
const context: KeyContext = { nodes: steady.nodes, selected: 0, leader: steady.leader, replication: steady.replication, rate: 20 };

describe('what keys mean', () => {
  it('acts on the selected node', () => {
    expect(dashboardIntent('k', noKey, context)).toEqual({ kind: 'run', command: { kind: 'kill', node: 'n1' } });
    expect(dashboardIntent('p', noKey, { ...context, nodes: steady.nodes.map((n) => ({ ...n, paused: true })) })).toEqual({ kind: 'run', command: { kind: 'resume', node: 'n1' } });
    expect(dashboardIntent('i', noKey, { ...context, selected: 2 })).toEqual({ kind: 'run', command: { kind: 'isolate', node: 'n3' } });
    expect(dashboardIntent('k', { ...noKey, ctrl: true }, context)).toBeNull();
    expect(dashboardIntent('c', { ...noKey, ctrl: true }, context)).toEqual({ kind: 'quit' });
  });

  it('steps the workload rate along a ladder, and says when it cannot', () => {
    expect([nextRate(20, true), nextRate(20, false), nextRate(30, true), nextRate(30, false), nextRate(0, false), nextRate(10_000, true)]).toEqual([50, 10, 50, 20, 0, 10_000]);
    expect(dashboardIntent('+', noKey, { ...context, rate: 'off' })).toEqual({ kind: 'tell', text: 'no workload is running; :workload on starts one' });
    expect(dashboardIntent('-', noKey, { ...context, rate: 0 })).toEqual({ kind: 'tell', text: 'the workload rate is already at its lowest step (0 ops/s)' });
  });

  it('reads several keys in one chunk in order, and the text after : as the command', () => {
    expect(dashboardIntents('2k', noKey, context)).toEqual([
      { kind: 'action', action: { type: 'select', index: 1 } },
      { kind: 'run', command: { kind: 'kill', node: 'n2' } },
    ]);
    expect(dashboardIntents(':kill n3', noKey, context)).toEqual([{ kind: 'action', action: { type: 'open-command', text: 'kill n3' } }]);
    expect(dashboardIntents(':heal\rk', noKey, context)).toEqual([
      { kind: 'action', action: { type: 'submit-command', text: 'heal' } },
      { kind: 'run', command: { kind: 'heal' } },
    ]);
  });
});

describe('the message pane and freezing', () => {
  const pane = { frozen: false, scrollMax: 30, page: 5 };
  const live: KeyContext = { ...context, pane };
  const frozen: KeyContext = { ...context, pane: { ...pane, frozen: true } };

  it('v switches the log and the message pane; Space freezes, and Space or Esc resumes', () => {
    expect(dashboardIntent('v', noKey, live)).toEqual({ kind: 'action', action: { type: 'toggle-pane' } });
    expect(dashboardIntent('v', noKey, frozen)).toEqual({ kind: 'action', action: { type: 'toggle-pane' } });
    expect(dashboardIntent(' ', noKey, live)).toEqual({ kind: 'action', action: { type: 'freeze' } });
    expect(dashboardIntent(' ', noKey, frozen)).toEqual({ kind: 'action', action: { type: 'unfreeze' } });
    expect(dashboardIntent('', { ...noKey, escape: true }, frozen)).toEqual({ kind: 'action', action: { type: 'unfreeze' } });
    expect(dashboardIntent('', { ...noKey, escape: true }, live)).toEqual({ kind: 'action', action: { type: 'message', message: null } });
  });

  it('while frozen ↑↓ PgUp PgDn scroll (↑ is older) instead of selecting; digits still select', () => {
    expect(dashboardIntent('', { ...noKey, upArrow: true }, frozen)).toEqual({ kind: 'action', action: { type: 'scroll-pane', step: 1, max: 30 } });
    expect(dashboardIntent('', { ...noKey, downArrow: true }, frozen)).toEqual({ kind: 'action', action: { type: 'scroll-pane', step: -1, max: 30 } });
    expect(dashboardIntent('', { ...noKey, pageUp: true }, frozen)).toEqual({ kind: 'action', action: { type: 'scroll-pane', step: 5, max: 30 } });
    expect(dashboardIntent('', { ...noKey, pageDown: true }, frozen)).toEqual({ kind: 'action', action: { type: 'scroll-pane', step: -5, max: 30 } });
    expect(dashboardIntent('2', noKey, frozen)).toEqual({ kind: 'action', action: { type: 'select', index: 1 } });
    expect(dashboardIntent('', { ...noKey, upArrow: true }, live)).toEqual({ kind: 'action', action: { type: 'select-step', step: -1 } });
    expect(dashboardIntent('', { ...noKey, pageUp: true }, live)).toBeNull();
  });

  it('reads "v " in one chunk as both keys', () => {
    expect(dashboardIntents('v ', noKey, live)).toEqual([
      { kind: 'action', action: { type: 'toggle-pane' } },
      { kind: 'action', action: { type: 'freeze' } },
    ]);
  });
});
