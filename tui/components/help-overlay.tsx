// The ? overlay: every key, what the charts mean, and every command; ↑↓
// scroll it when the terminal is short, and it takes two columns when wide.

import { Box } from 'ink';
import { commandSpecs } from '../commands/spec.js';
import { padRight, wrap } from '../format.js';
import { SegmentLine, type Segment } from './segments.js';

export interface HelpOverlayProps {
  readonly width: number;
  readonly rows: number;
  /** The first line shown; clamped to what fits. */
  readonly scroll: number;
  readonly color: boolean;
  /** In a lab: the current step's hint, shown first, with the lab's keys. */
  readonly lab?: LabHelp | null;
  /** Nodes that are wedged, each with why: shown first (the node table only has room for `✕ wedged`). */
  readonly wedged?: readonly WedgedNode[];
}

export interface WedgedNode {
  readonly id: string;
  readonly reason: string;
  readonly statement: string | null;
}

export interface LabHelp {
  /** "step 2/5: Write to a follower". */
  readonly step: string;
  readonly hint: string;
}

const keyLines: readonly (readonly [string, string])[] = [
  ['↑↓ Tab 1–7', 'select a node'],
  ['k / r', 'kill (SIGKILL) / restart the selected node'],
  ['p', 'pause (SIGSTOP) or resume the selected node'],
  ['i / h', 'isolate the selected node / heal every link'],
  ['t / P', 'transfer leadership to / promote the selected node'],
  ['m / a', 'cycle replication mode / ack level'],
  ['+ / -', 'raise / lower the workload rate'],
  ['v', 'switch the event log and the message pane: the Raft messages between nodes (votes and answers, rejected appends; appends and heartbeats summed per link) and each election timer'],
  ['Space', 'freeze the log and the message pane (the cluster keeps running): ↑↓ PgUp PgDn scroll back 60 s; Space or Esc resumes'],
  [':', 'command line (Tab completes, ↑ recalls)'],
  ['Esc ?', 'close this overlay (↑↓ scroll it)'],
  ['q Ctrl-C', 'quit: stop every node and leave'],
];

/** The words in the node table a newcomer has not met yet. */
const tableLines: readonly (readonly [string, string])[] = [
  ['pre-cand', 'a pre-candidate (PreVote): it asks the others whether it could win before it raises its term, so a node cut off from the leader keeps its term and does not force an election when it is back'],
  ['candidate', 'has raised its term and asks for votes'],
  ['learner', 'gets the log, never votes (:add learner, then :promote-learner)'],
  ['⊘ isolated', 'every link to and from it is cut (i; h heals): its lag only grows'],
  ['↻ catching up', 'a follower still hearing from the leader, over 500 ms of replay lag behind (a cut-off node is not: its lag only grows)'],
  ['✕ wedged', 'running but stuck: a disk, lock or WAL error, or a blocked event loop; why is at the top here; r restarts it'],
  ['✕ corrupt', 'WAL, meta or state damaged, or a file in the way (status says which): it will not start; :rebuild <node> copies it again'],
  ['snap / wal', "wide: the node's newest snapshot index (– none) and the WAL it keeps; compaction deletes what a snapshot covers"],
  ['◷ 420ms ago', "each row is its node's last report, and nodes report one by one, so rows are different moments: a row that is far older than the others, or a leader that looks behind a follower that reported after it, says how old it is"],
];

const chartLines: readonly string[] = [
  'replay lag: how long the oldest entry a follower has not',
  '  applied has been durable on the leader (pg_stat_replication)',
  'S stale reads/s: reads older than a write acknowledged before',
  '  they began (n/a when the workload does not check)',
  'L lost: acknowledged writes later rolled back (async failover)',
  'D divergent: a different checksum at the same applied index',
  'U ahead: entries applied beyond the commit index, visible to',
  '  local reads but not yet safe (they may be rolled back)',
];

const twoColumnsMin = 140;
/** Spaces between a key (or a command's usage) and what it does: the two never touch. */
const columnGap = 2;
/** Narrower than this beside the key, the text goes under it instead. */
const textWidthMin = 24;

function heading(text: string): Segment[] {
  return [{ text, bold: true, color: 'cyan' }];
}

/**
 * Key and text side by side, the text wrapped in its own column (continuation lines start under
 * it); when the text would get too narrow a column, it goes under the key, indented.
 */
function pairLines(pairs: readonly (readonly [string, string])[], width: number, options: { readonly textStyle?: Omit<Segment, 'text'>; readonly alignWith?: readonly (readonly [string, string])[] } = {}): Segment[][] {
  const textStyle = options.textStyle ?? {};
  const keyWidth = Math.max(...[...pairs, ...(options.alignWith ?? [])].map(([key]) => key.length)) + columnGap;
  const textWidth = width - keyWidth;
  if (textWidth < textWidthMin) {
    return pairs.flatMap(([key, text]): Segment[][] => [[{ text: key, bold: true }], ...wrap(text, width - 4).map((line): Segment[] => [{ text: `    ${line}`, ...textStyle }])]);
  }
  return pairs.flatMap(([key, text]) =>
    wrap(text, textWidth).map((line, i): Segment[] => [{ text: padRight(i === 0 ? key : '', keyWidth), bold: true }, { text: line, ...textStyle }]),
  );
}

function labLines(lab: LabHelp | null | undefined, width: number): Segment[][] {
  if (lab === null || lab === undefined) return [];
  return [
    [{ text: `hint, ${lab.step}`, bold: true, color: 'yellow' }],
    ...wrap(lab.hint === '' ? 'no hint for this step' : lab.hint, width).map((line): Segment[] => [{ text: line }]),
    [{ text: '' }],
    heading('lab keys'),
    ...pairLines(
      [
        ['n', 'next step, once the check shows ✓'],
        ['A', 'do this step for me (the autopilot)'],
      ],
      width,
      // In line with the keys below them.
      { alignWith: keyLines },
    ),
    [{ text: '' }],
  ];
}

function wedgedLines(wedged: readonly WedgedNode[], width: number): Segment[][] {
  if (wedged.length === 0) return [];
  return [
    heading('wedged nodes'),
    ...wedged.flatMap((node) =>
      wrap(`${node.id}: ${node.reason}${node.statement === null ? '' : `; statement: ${node.statement}`}`, width).map((line): Segment[] => [{ text: line, color: 'red' }]),
    ),
    [{ text: '' }],
  ];
}

function leftLines(lab?: LabHelp | null, width = 80, wedged: readonly WedgedNode[] = []): Segment[][] {
  return [
    ...wedgedLines(wedged, width),
    ...labLines(lab, width),
    heading('keys'),
    ...pairLines(keyLines, width),
    [{ text: '' }],
    heading('node table'),
    ...pairLines(tableLines, width),
    [{ text: '' }],
    heading('charts'),
    ...chartLines.map((line): Segment[] => [{ text: line }]),
  ];
}

function commandLines(width: number): Segment[][] {
  return [
    heading('commands (after :)'),
    ...pairLines(
      commandSpecs.map((spec) => [spec.usage, spec.summary] as const),
      width,
      { textStyle: { dim: true } },
    ),
  ];
}

/** Every line of the single-column help at this width. */
export function helpLines(width: number, lab?: LabHelp | null, wedged: readonly WedgedNode[] = []): Segment[][] {
  return [...leftLines(lab, width, wedged), [{ text: '' }], ...commandLines(width)];
}

/** How far the help can scroll at this size (0 when it fits). */
export function helpScrollMax(width: number, rows: number, lab?: LabHelp | null, wedged: readonly WedgedNode[] = []): number {
  const columnWidth = Math.floor((width - 2) / 2);
  if (width >= twoColumnsMin) return Math.max(0, Math.max(leftLines(lab, columnWidth, wedged).length, commandLines(columnWidth).length) - rows);
  const lines = helpLines(width, lab, wedged).length;
  return lines <= rows ? 0 : lines - (rows - 1);
}

export function HelpOverlay({ width, rows, scroll, color, lab, wedged = [] }: HelpOverlayProps) {
  const render = (lines: Segment[][], lineWidth: number) => lines.map((segments, i) => <SegmentLine key={i} segments={segments} width={lineWidth} color={color} />);
  const top = Math.max(0, Math.min(scroll, helpScrollMax(width, rows, lab, wedged)));
  if (width >= twoColumnsMin) {
    const columnWidth = Math.floor((width - 2) / 2);
    return (
      <Box flexDirection="row" height={rows} width={width}>
        <Box flexDirection="column" width={columnWidth}>
          {render(leftLines(lab, columnWidth, wedged).slice(top, top + rows), columnWidth)}
        </Box>
        <Box width={2} />
        <Box flexDirection="column" width={columnWidth}>
          {render(commandLines(columnWidth).slice(top, top + rows), columnWidth)}
        </Box>
      </Box>
    );
  }
  const all = helpLines(width, lab, wedged);
  if (all.length <= rows) {
    return (
      <Box flexDirection="column" height={rows} width={width}>
        {render(all, width)}
      </Box>
    );
  }
  const shown = all.slice(top, top + rows - 1);
  const position: Segment[] = [{ text: `— lines ${top + 1}–${top + shown.length} of ${all.length}; ↑↓ PgUp PgDn scroll, Esc closes —`, dim: true }];
  return (
    <Box flexDirection="column" height={rows} width={width}>
      {render([...shown, position], width)}
    </Box>
  );
}
