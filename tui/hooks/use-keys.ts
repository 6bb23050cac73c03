// Key handling: one input hook that hands each key to the handler of what is
// open (the dashboard, the command line, an overlay); each turns keys into the
// intents of keys/intents.ts and carries them out.

import { useInput, type Key } from 'ink';
import { useCallback, useLayoutEffect, useRef, type Dispatch } from 'react';
import type { EngineKind } from '../../cluster/engine.js';
import type { NodeId } from '../../cluster/index.js';
import { complete, hintFor } from '../commands/complete.js';
import { commandLengthMax } from '../constants.js';
import type { ClusterCommand } from '../commands/spec.js';
import { commandIntent, dashboardIntents, isQuitKey, type Intent, type KeyContext } from '../keys/intents.js';
import type { DashboardAction, DashboardState } from '../state/dashboard-state.js';

export interface KeyHandlers {
  readonly state: DashboardState;
  readonly ids: readonly NodeId[];
  readonly dispatch: Dispatch<DashboardAction>;
  readonly run: (command: ClusterCommand) => void;
  readonly quit: () => void;
  /** Only quit works while the terminal is too small: nothing else can be seen. */
  readonly tooSmall: boolean;
  /** How far the help overlay can scroll at the current size. */
  readonly helpScrollMax: number;
  /** Lines the help overlay shows at once (a page for PgUp/PgDn). */
  readonly helpPage: number;
  /** How far the `:trace` overlay can scroll at the current size. */
  readonly traceScrollMax?: number;
  /** How far the frozen log or message pane can scroll back, and a page of it. */
  readonly paneScrollMax?: number;
  readonly panePage?: number;
  /** The engine (absent: replica-lab): some keys mean nothing on another. */
  readonly engine?: EngineKind;
  /** In a lab: sees each dashboard key first (n, A, the debrief's scrolling); true when it took the key. */
  readonly labKey?: (input: string, key: Key) => boolean;
}

function perform(intent: Intent | null, handlers: KeyHandlers): void {
  if (intent === null) return;
  switch (intent.kind) {
    case 'run':
      handlers.run(intent.command);
      return;
    case 'action':
      handlers.dispatch(intent.action);
      return;
    case 'quit':
      handlers.quit();
      return;
    case 'tell':
      handlers.dispatch({ type: 'message', message: { text: intent.text, level: 'error' } });
      return;
  }
}

/**
 * A stable input handler that always sees the latest render's state. Ink
 * resubscribes a changed handler only after the next passive effects, so a
 * key pressed right after an update would otherwise meet the old state.
 */
function useLatestHandler(handlers: KeyHandlers, handle: (handlers: KeyHandlers, input: string, key: Key) => void): (input: string, key: Key) => void {
  const latest = useRef(handlers);
  useLayoutEffect(() => {
    latest.current = handlers;
  });
  return useCallback((input: string, key: Key) => handle(latest.current, input, key), [handle]);
}

/**
 * All keys, routed to the dashboard, the command line or the overlay by what
 * is open now. One subscription that stays active: Ink resubscribes a hook
 * only after React's passive effects, and turns raw mode off while no hook is
 * active, so hooks that take turns would drop keys typed in between (and let
 * Ctrl-C through as a signal). The handler reads the latest render's state.
 */
export function useKeys(handlers: KeyHandlers): void {
  useInput(useLatestHandler(handlers, routeKey), { isActive: true });
}

function routeKey(handlers: KeyHandlers, input: string, key: Key): void {
  const { state, tooSmall } = handlers;
  if (state.quitting) return;
  if (tooSmall) {
    if (isQuitKey(input, key)) handlers.quit();
    return;
  }
  switch (state.overlay.kind) {
    case 'none':
      return handleDashboardKey(handlers, input, key);
    case 'command':
      return handleCommandLineKey(handlers, input, key);
    case 'help':
    case 'result':
    case 'trace':
      return handleOverlayKey(handlers, input, key);
  }
}

function handleDashboardKey(handlers: KeyHandlers, input: string, key: Key): void {
  const { state } = handlers;
  if (handlers.labKey !== undefined && handlers.labKey(input, key)) return;
  const snapshot = state.snapshot;
  const context: KeyContext = {
    nodes: snapshot?.nodes ?? [],
    selected: state.selected,
    leader: snapshot?.leader ?? null,
    replication: snapshot?.replication ?? null,
    rate: snapshot?.workload?.running !== true ? 'off' : (snapshot.workload.options.rate ?? 'closed'),
    pane: { frozen: state.frozen !== null, scrollMax: handlers.paneScrollMax ?? 0, page: handlers.panePage ?? 1 },
    ...(handlers.engine === undefined ? {} : { engine: handlers.engine }),
  };
  for (const intent of dashboardIntents(input, key, context)) perform(intent, handlers);
}

/** Editing keys of the `:` line. */
function handleCommandLineKey(handlers: KeyHandlers, input: string, key: Key): void {
  const { state, dispatch, ids } = handlers;
  const overlay = state.overlay;
  if (overlay.kind !== 'command') return;
  const text = overlay.text;
  const edit = (next: string, hint?: string | null): void => {
    const bounded = next.slice(0, commandLengthMax);
    dispatch({ type: 'edit-command', text: bounded, hint: hint === undefined ? hintFor(bounded, ids) : hint });
  };
  if (key.ctrl && input === 'c') return handlers.quit();
  if (key.escape) return dispatch({ type: 'close-overlay' });
  const submit = (line: string): void => {
    dispatch({ type: 'submit-command', text: line });
    if (line.trim() !== '') perform(commandIntent(line, ids), handlers);
  };
  if (key.return) return submit(text);
  // Typed ahead or pasted with its Enter: the text up to the first line break is the command (the rest is dropped).
  const lineBreak = input.search(/[\r\n]/);
  if (lineBreak >= 0 && input.length > 1) return submit(text + input.slice(0, lineBreak).replace(/[\u0000-\u001f\u007f]/g, ''));
  if (key.tab) {
    const completion = complete(text, ids);
    return edit(completion.text, completion.hint);
  }
  if (key.upArrow) return dispatch({ type: 'recall-command', step: -1 });
  if (key.downArrow) return dispatch({ type: 'recall-command', step: 1 });
  if (key.backspace || key.delete) return edit(text.slice(0, -1));
  if (key.ctrl && input === 'u') return edit('');
  if (key.ctrl && input === 'w') return edit(text.replace(/\S*\s*$/, ''));
  if (key.ctrl || key.meta || key.leftArrow || key.rightArrow || key.pageUp || key.pageDown) return;
  // Typed or pasted text; control characters and line breaks never enter the line.
  const printable = input.replace(/[\u0000-\u001f\u007f]/g, '');
  if (printable !== '') edit(text + printable);
}

/** Keys while the help overlay or a result pane is open. */
function handleOverlayKey(handlers: KeyHandlers, input: string, key: Key): void {
  const { dispatch, state } = handlers;
  if (key.ctrl && input === 'c') return handlers.quit();
  if (state.overlay.kind === 'help') {
    const step = key.downArrow ? 1 : key.upArrow ? -1 : key.pageDown || input === ' ' ? handlers.helpPage : key.pageUp ? -handlers.helpPage : 0;
    if (step !== 0) return dispatch({ type: 'scroll-help', to: Math.max(0, Math.min(handlers.helpScrollMax, state.overlay.scroll + step)) });
  }
  if (state.overlay.kind === 'trace') {
    const step = key.downArrow ? 1 : key.upArrow ? -1 : key.pageDown || input === ' ' ? handlers.helpPage : key.pageUp ? -handlers.helpPage : 0;
    if (step !== 0) return dispatch({ type: 'scroll-trace', to: Math.max(0, Math.min(handlers.traceScrollMax ?? 0, state.overlay.scroll + step)) });
  }
  // In a lab, n and A work on a result too (the panel stays under it): the result closes.
  if (state.overlay.kind === 'result' && (input === 'n' || input === 'A') && handlers.labKey !== undefined) {
    dispatch({ type: 'close-overlay' });
    handlers.labKey(input, key);
    return;
  }
  if (key.escape || input === 'q' || input === '?' || key.return) return dispatch({ type: 'close-overlay' });
  if (input === ':') return dispatch({ type: 'open-command', text: '' });
  // A ':' command arriving in one read with its text (pasted, or typed ahead): closed over, it is the command line's, as on the dashboard.
  if (input.length > 1 && input.startsWith(':')) {
    dispatch({ type: 'close-overlay' });
    handleDashboardKey(handlers, input, key);
  }
}
