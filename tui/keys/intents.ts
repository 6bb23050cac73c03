// What keys mean, as pure functions: a key (or a submitted command line)
// becomes an Intent, which the key hook carries out. Tested without Ink.

import type { Key } from 'ink';
import type { EngineKind } from '../../cluster/engine.js';
import type { NodeId, NodeStatus, ReplicationSettings } from '../../cluster/index.js';
import { parseCommand } from '../commands/parse.js';
import { ackLevels, rateCommand, replicationModes, type ClusterCommand, type Command } from '../commands/spec.js';
import { workloadRates } from '../constants.js';
import type { DashboardAction } from '../state/dashboard-state.js';

/** What a key (or a submitted command line) asks for. */
export type Intent =
  | { readonly kind: 'run'; readonly command: ClusterCommand }
  | { readonly kind: 'action'; readonly action: DashboardAction }
  | { readonly kind: 'quit' }
  | { readonly kind: 'tell'; readonly text: string };

export interface KeyContext {
  readonly nodes: readonly NodeStatus[];
  readonly selected: number;
  readonly leader: NodeId | null;
  readonly replication: ReplicationSettings | null;
  /** The workload's open-loop rate, 'closed' for a closed loop, 'off' when it is not running. */
  readonly rate: number | 'closed' | 'off';
  /** The event log or message pane: whether Space froze it, and how far it can scroll back. */
  readonly pane?: PaneContext;
  /** The engine (absent: replica-lab); on PostgreSQL there are no Raft messages for `v` to show. */
  readonly engine?: EngineKind;
}

export interface PaneContext {
  readonly frozen: boolean;
  readonly scrollMax: number;
  /** Rows a PgUp or PgDn moves. */
  readonly page: number;
}

export function isQuitKey(input: string, key: Key): boolean {
  return input === 'q' || (key.ctrl && input === 'c');
}

/** The dashboard's one-letter keys. */
export function dashboardIntent(input: string, key: Key, context: KeyContext): Intent | null {
  if (isQuitKey(input, key)) return { kind: 'quit' };
  const frozen = context.pane?.frozen === true;
  if (key.escape) return { kind: 'action', action: frozen ? { type: 'unfreeze' } : { type: 'message', message: null } };
  if (key.ctrl || key.meta) return null;
  if (frozen && context.pane !== undefined) {
    // While frozen, ↑↓ PgUp PgDn scroll back (↑ is older); the digits still select a node.
    const { scrollMax, page } = context.pane;
    const step = key.upArrow ? 1 : key.downArrow ? -1 : key.pageUp ? page : key.pageDown ? -page : 0;
    if (step !== 0) return { kind: 'action', action: { type: 'scroll-pane', step, max: scrollMax } };
  }
  if (input === ' ') return { kind: 'action', action: frozen ? { type: 'unfreeze' } : { type: 'freeze' } };
  if (key.upArrow || (key.shift && key.tab)) return { kind: 'action', action: { type: 'select-step', step: -1 } };
  if (key.downArrow || key.tab) return { kind: 'action', action: { type: 'select-step', step: 1 } };
  if (/^[1-9]$/.test(input)) {
    const index = Number(input) - 1;
    if (index >= context.nodes.length) return { kind: 'tell', text: `there is no node ${input}; nodes are 1–${context.nodes.length}` };
    return { kind: 'action', action: { type: 'select', index } };
  }
  const node = context.nodes[context.selected];
  const onSelected = (kind: 'kill' | 'restart' | 'isolate' | 'transfer' | 'promote'): Intent => (node === undefined ? { kind: 'tell', text: 'no node is selected' } : { kind: 'run', command: { kind, node: node.id } });
  switch (input) {
    case '?':
      return { kind: 'action', action: { type: 'open-help' } };
    case ':':
      return { kind: 'action', action: { type: 'open-command', text: '' } };
    case 'v':
      if (context.engine === 'postgres') return { kind: 'tell', text: "v: the Raft message pane needs the replica-lab engine; PostgreSQL has no Raft messages (what its servers logged is in the event log, 'n2 logged: …')" };
      return { kind: 'action', action: { type: 'toggle-pane' } };
    case 'k':
      return onSelected('kill');
    case 'r':
      return onSelected('restart');
    case 'p':
      if (node === undefined) return { kind: 'tell', text: 'no node is selected' };
      return { kind: 'run', command: { kind: node.paused ? 'resume' : 'pause', node: node.id } };
    case 'i':
      return onSelected('isolate');
    case 'h':
      return { kind: 'run', command: { kind: 'heal' } };
    case 't':
      return onSelected('transfer');
    case 'P':
      return onSelected('promote');
    case 'm': {
      const current = context.replication?.mode ?? 'quorum';
      const next = replicationModes[(replicationModes.indexOf(current) + 1) % replicationModes.length]!;
      return { kind: 'run', command: { kind: 'replication', change: { mode: next } } };
    }
    case 'a': {
      const current = context.replication?.ackLevel ?? 'flushed';
      const next = ackLevels[(ackLevels.indexOf(current) + 1) % ackLevels.length]!;
      return { kind: 'run', command: { kind: 'replication', change: { ackLevel: next } } };
    }
    case '+':
    case '=':
    case '-':
    case '_': {
      if (context.rate === 'off') return { kind: 'tell', text: 'no workload is running; :workload on starts one' };
      if (context.rate === 'closed') return { kind: 'tell', text: 'the workload runs a closed loop; :rate <ops/s> sets a rate' };
      const up = input === '+' || input === '=';
      const rate = nextRate(context.rate, up);
      if (rate === context.rate) return { kind: 'tell', text: `the workload rate is already at its ${up ? 'highest' : 'lowest'} step (${rate} ops/s)` };
      return { kind: 'run', command: rateCommand(rate) };
    }
    default:
      return null;
  }
}

/**
 * Several characters can arrive in one read (fast typing, key repeat, a
 * terminal multiplexer): each is a key of its own, in order, and a selection
 * made by one applies to the keys after it.
 */
export function dashboardIntents(input: string, key: Key, context: KeyContext): Intent[] {
  const characters = [...input];
  if (characters.length <= 1 || key.ctrl || key.meta) {
    const intent = dashboardIntent(input, key, context);
    return intent === null ? [] : [intent];
  }
  const intents: Intent[] = [];
  let current = context;
  for (const [i, character] of characters.entries()) {
    const intent = dashboardIntent(character, { ...key, shift: character !== character.toLowerCase() }, current);
    if (intent === null) continue;
    intents.push(intent);
    if (intent.kind === 'quit') break;
    if (intent.kind === 'action' && intent.action.type === 'select') current = { ...current, selected: intent.action.index };
    if (intent.kind === 'action' && intent.action.type === 'select-step') {
      const count = Math.max(1, current.nodes.length);
      current = { ...current, selected: (current.selected + intent.action.step + count) % count };
    }
    // The keys after a ':' are the start of the command; after '?' they are dropped.
    if (intent.kind === 'action' && intent.action.type === 'open-command') {
      const rest = characters.slice(i + 1).join('');
      const lineBreak = rest.search(/[\r\n]/);
      const line = (lineBreak < 0 ? rest : rest.slice(0, lineBreak)).replace(/[\u0000-\u001f\u007f]/g, '');
      intents.pop();
      if (lineBreak < 0) intents.push({ kind: 'action', action: { type: 'open-command', text: line } });
      else {
        // A whole command with its Enter: run it as if typed on the command line.
        intents.push({ kind: 'action', action: { type: 'submit-command', text: line } });
        if (line.trim() !== '') intents.push(commandIntent(line, current.nodes.map((node) => node.id)));
      }
      break;
    }
    if (intent.kind === 'action' && intent.action.type === 'open-help') break;
  }
  return intents;
}

/** The next step of the rate ladder above (or below) the current rate. */
export function nextRate(current: number, up: boolean): number {
  if (up) return workloadRates.find((rate) => rate > current) ?? current;
  return [...workloadRates].reverse().find((rate) => rate < current) ?? current;
}

/** What a submitted command line asks for. */
export function commandIntent(text: string, ids: readonly NodeId[]): Intent {
  const parsed = parseCommand(text, ids);
  if (!parsed.ok) return { kind: 'tell', text: parsed.error };
  return intentOf(parsed.command, ids);
}

function intentOf(command: Command, ids: readonly NodeId[]): Intent {
  switch (command.kind) {
    case 'select':
      return { kind: 'action', action: { type: 'select', index: ids.indexOf(command.node) } };
    case 'help':
      return { kind: 'action', action: { type: 'open-help' } };
    case 'quit':
      return { kind: 'quit' };
    default:
      return { kind: 'run', command };
  }
}
