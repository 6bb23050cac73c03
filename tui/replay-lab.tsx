// The replay lab's screen (`replica-lab lab figure-8`): five logs side by side,
// terms as colours and digits, the newest messages, the step's check, and one
// message per key press. It draws a ReplayController's state and calls it on
// keys; it never starts anything (the CLI hands in the session).

import { Box, Text, useApp, useInput } from 'ink';
import { useEffect, useState } from 'react';
import type { ReplaySessionState } from '../labs/index.js';
import type { ReplayEntryView, ReplayNodeView, ReplayStep } from '../cluster/sim/figure8.js';
import { terminalColumnsMin, terminalRowsMin } from './constants.js';
import { wrap } from './format.js';
import { TooSmall } from './components/too-small.js';
import { useTerminalSize } from './hooks/use-terminal-size.js';

export type { ReplaySessionState };

/** What the screen needs from labs/'s ReplaySession (which satisfies it structurally). */
export interface ReplayController {
  getState(): ReplaySessionState;
  subscribe(listener: (state: ReplaySessionState) => void): () => void;
  stepOnce(): void;
  toSceneEnd(): void;
  restartReplay(): void;
  next(): boolean;
  runAutopilot(): { readonly passed: boolean; readonly detail: string };
}

export interface ReplayLabViewProps {
  readonly session: ReplayController;
  readonly color: boolean;
  /** The terminal's size; tests pass it, the CLI leaves it to the terminal. */
  readonly size?: { readonly columns: number; readonly rows: number };
}

const termColors = ['gray', 'white', 'green', 'magenta', 'cyan', 'yellow', 'blue', 'red'] as const;

function termColor(term: number): (typeof termColors)[number] {
  return termColors[term % termColors.length]!;
}

const roleMark = (node: ReplayNodeView): string => {
  if (!node.up) return '✕ down';
  switch (node.role) {
    case 'leader':
      return 'L lead';
    case 'candidate':
      return 'C cand';
    case 'pre-candidate':
      return 'P pre ';
    default:
      return 'F foll';
  }
};

const stepMark: Record<ReplayStep['kind'], string> = { deliver: '→', lose: '✕', action: '▶', scene: '■' };

function EntryCell({ entry, commit, color }: { readonly entry: ReplayEntryView; readonly commit: number; readonly color: boolean }) {
  const text = `${entry.durable ? ' ' : '~'}t${entry.term}${entry.index <= commit ? '*' : ' '} `;
  if (!color) return <Text>{text}</Text>;
  return (
    <Text color={termColor(entry.term)} dimColor={!entry.durable} bold={entry.index <= commit}>
      {text}
    </Text>
  );
}

export function ReplayLabView({ session, color, size }: ReplayLabViewProps) {
  const [state, setState] = useState(() => session.getState());
  const [showHint, setShowHint] = useState(false);
  const [scroll, setScroll] = useState(0);
  const { exit } = useApp();
  const terminal = useTerminalSize();
  const { columns, rows } = size ?? terminal;
  useEffect(() => session.subscribe(setState), [session]);
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) {
      exit();
      return;
    }
    if (state.phase === 'finished') {
      if (key.upArrow) setScroll((top) => Math.max(0, top - 1));
      else if (key.downArrow) setScroll((top) => top + 1);
      return;
    }
    // Keys pressed quickly can arrive as one chunk ("   "): each press is one message.
    if (/^[ n]+$/.test(input) || key.rightArrow) for (let i = 0; i < Math.max(1, input.length); i++) session.stepOnce();
    else if (input === 'f') session.toSceneEnd();
    else if (input === 'r') session.restartReplay();
    else if (key.return) session.next();
    else if (input === 'A') session.runAutopilot();
    else if (input === '?' || input === 'h') setShowHint((shown) => !shown);
  });
  if (columns < terminalColumnsMin || rows < terminalRowsMin) return <TooSmall columns={columns} rows={rows} />;

  const { frame, step } = state;
  const lastIndex = Math.max(1, ...frame.nodes.map((n) => n.log.length));
  const bad = (text: string) => (
    <Text wrap="truncate" {...(color ? { color: 'red' } : {})}>
      {text}
    </Text>
  );
  const header = `lab ${state.lab.id} · ${state.phase === 'finished' ? 'finished' : `step ${step!.number}/${state.steps.length}: ${step!.title}`}`;
  const stepsLine = state.steps.map((s, i) => `${s.status === 'passed' ? '✓' : s.status === 'current' ? '▸' : '·'} ${i + 1}`).join('  ');

  if (state.phase === 'finished') {
    // The debrief is longer than a small screen: wrapped here, shown as a window that ↑↓ scroll.
    const lines = [stepsLine, '', 'Debrief', ...(state.debrief ?? []).flatMap((line) => wrap(`  ${line}`, columns))];
    const height = Math.max(1, rows - 3);
    const top = Math.max(0, Math.min(scroll, lines.length - height));
    return (
      <Box flexDirection="column" width={columns}>
        <Text bold wrap="truncate">{header}</Text>
        {lines.slice(top, top + height).map((line, i) => (
          <Text key={top + i} wrap="truncate">{line === '' ? ' ' : line}</Text>
        ))}
        <Text wrap="truncate">{`${lines.length > height ? '↑↓ scroll · ' : ''}q quit (this run is recorded in your progress)`}</Text>
      </Box>
    );
  }

  // Rows: header, rule, instruction (4), scene (2), table (1 + 5), legend, messages, check (2), hint (2), footer.
  const fixedRows = 18 + (showHint ? 2 : 0) + (frame.violations.length > 0 ? 1 : 0);
  const messageRows = Math.max(2, rows - fixedRows - 1);
  const messages = frame.steps.slice(-messageRows);
  const indexWidth = 5;
  return (
    <Box flexDirection="column" width={columns}>
      <Text bold wrap="truncate">{header}</Text>
      <Text wrap="truncate">{`steps ${stepsLine}   rule: ${step!.rule}`}</Text>
      <Box height={4} overflow="hidden">
        <Text wrap="wrap">{step!.instruction}</Text>
      </Box>
      <Box height={2} overflow="hidden">
        <Text wrap="wrap" bold>{frame.scene}</Text>
      </Box>
      <Text wrap="truncate">{`node  role    term  commit  ${Array.from({ length: lastIndex }, (_, i) => ` ${i + 1}`.padEnd(indexWidth)).join('')}`}</Text>
      {frame.nodes.map((node) => (
        <Box key={node.id}>
          <Text>{`${node.id}    ${roleMark(node)}  ${`${node.term}`.padStart(4)}  ${node.up ? `${node.commitIndex}`.padStart(6) : '     -'}  `}</Text>
          {node.log.map((entry) => (
            <EntryCell key={entry.index} entry={entry} commit={node.commitIndex} color={color} />
          ))}
        </Box>
      ))}
      <Text wrap="truncate">{`t2: entry of term 2 · ~ not on disk yet · * committed here · ${frame.inFlight} in flight`}</Text>
      {messages.map((s) => (
        <Text key={s.number * 10 + (s.kind === 'scene' ? 1 : 0)} wrap="truncate" dimColor={color && s.kind === 'lose'}>{`${`${s.number}`.padStart(3)} ${stepMark[s.kind]} ${s.text}`}</Text>
      ))}
      {frame.violations.length > 0 ? bad(`checker: ${frame.violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')}`) : null}
      <Box height={2} overflow="hidden">
        <Text wrap="wrap">{`${step!.check.passed ? '✓' : '…'} check: ${state.message ?? step!.check.detail}`}</Text>
      </Box>
      {showHint ? (
        <Box height={2} overflow="hidden">
          <Text wrap="wrap">{`hint: ${step!.hint}`}</Text>
        </Box>
      ) : null}
      <Text wrap="truncate" dimColor={color}>
        Space next · f scene end · r again · Enter check+next · A auto · ? hint · q quit
      </Text>
    </Box>
  );
}
