// The ? overlay: every key, what the charts mean, and every command; ↑↓
// scroll it when the terminal is short, and it takes two columns when wide.

import { Box } from 'ink';
import type { EngineKind } from '../../cluster/engine.js';
import { commandSpecs } from '../commands/spec.js';
import { raftOnlyCommandNames } from '../engine.js';
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
  /** The engine (absent: replica-lab). On PostgreSQL the keys, words and commands are PostgreSQL's, and what needs Raft is listed apart. */
  readonly engine?: EngineKind;
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

/** The keys on PostgreSQL: what each does to a server; t and v (Raft only) are listed with the commands that need the replica-lab engine. */
const postgresKeyLines: readonly (readonly [string, string])[] = [
  ['↑↓ Tab 1–7', 'select a server'],
  ['k / r', 'kill (SIGKILL of the postmaster and its children) / restart the selected server; an old primary is first rewound by pg_rewind to follow the new one'],
  ['p', "pause (SIGSTOP of the server's processes) or resume the selected server"],
  ['i / h', "isolate the selected server (its replication connections end) / heal every link"],
  ['P', 'promote the selected standby (pg_ctl promote): it becomes the primary on a new timeline'],
  ['m / a', 'cycle replication mode (synchronous_standby_names) / ack level (synchronous_commit)'],
  ['+ / -', 'raise / lower the workload rate'],
  ['Space', 'freeze the event log (the cluster keeps running): ↑↓ PgUp PgDn scroll back 60 s; Space or Esc resumes'],
  [':', 'command line (Tab completes, ↑ recalls)'],
  ['Esc ?', 'close this overlay (↑↓ scroll it)'],
  ['q Ctrl-C', 'quit: stop every server and leave'],
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

/** The node table's words on PostgreSQL. */
const postgresTableLines: readonly (readonly [string, string])[] = [
  ['primary', 'the one server that takes writes; a standby streams WAL from it and only answers reads'],
  ['tli', "the server's timeline: a promotion starts a new one"],
  ['last lsn', "WAL position in PostgreSQL's notation: on the primary the WAL written (pg_current_wal_lsn), on a standby the WAL received"],
  ['replay lsn', 'the WAL replayed: what a read on that server sees (pg_last_wal_replay_lsn)'],
  ['write flush', "each standby's write_lag, flush_lag and replay_lag as the primary's pg_stat_replication reports them"],
  ['behind', "wide: bytes of WAL between the primary's current LSN and the standby's replay LSN"],
  ['⊘ isolated', 'every replication link to and from it is cut (i; h heals): its lag only grows'],
  ['↻ catching up', 'a standby still streaming, over 500 ms of replay lag behind'],
  ['wal', 'wide: the size of its pg_wal directory (pg_ls_waldir)'],
  ['◷ 420ms ago', "each row is its server's last answer to the status poll, and servers answer at different moments: a row far older than the others (a paused or stuck server) says how old it is"],
];

const postgresChartLines: readonly string[] = [
  "replay lag: each standby's replay_lag (pg_stat_replication)",
  'S stale reads/s: reads older than a write acknowledged before',
  '  they began',
  'L lost: acknowledged writes pg_rewind removed from an old',
  '  primary (their transaction ids in its WAL past the fork)',
  'D divergent, U ahead: n/a on PostgreSQL (no checksums are',
  '  compared; there is no cluster commit index)',
];

/** What a command does on PostgreSQL, where its replica-lab summary would not hold. */
const postgresSummaries: Readonly<Record<string, string>> = {
  kill: 'SIGKILL the postmaster and its children (an immediate crash)',
  restart: 'start a dead server again; an old primary is rewound (pg_rewind) to follow the new one',
  pause: "SIGSTOP the server's processes: frozen, its connections wait",
  resume: 'SIGCONT a paused server',
  isolate: "cut every replication link to and from the server",
  cut: 'a replication connection cannot run one way: it ends both ways, as with a partition',
  loss: 'each chunk on those links ends the connection with that probability (a byte stream cannot lose one and go on)',
  rebuild: "remove a standby's data and copy it again from the primary (pg_basebackup)",
  quorum: 'servers (primary included) that must have the commit: ANY k-1 (standbys)',
  'sync-timeout': 'none on PostgreSQL: a commit waits for its standbys until they answer or it is cancelled',
  fallback: 'none on PostgreSQL: a waiting commit never falls back to async by itself',
  promote: 'make the standby the primary (pg_ctl promote): manual failover',
  sql: 'run SQL on the primary',
  read: 'read one server as it is (local, may be stale); linearizable or lease go to the primary, which nothing confirms (PostgreSQL has no ReadIndex or lease)',
  write: 'send a write straight to one server (a standby refuses: it is read-only)',
  'read-consistency': 'workload reads: the server as it is, or on the primary (PostgreSQL has no ReadIndex or lease)',
  quit: 'stop every server and leave',
};

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

function leftLines(lab?: LabHelp | null, width = 80, wedged: readonly WedgedNode[] = [], engine: EngineKind = 'replica-lab'): Segment[][] {
  const pg = engine === 'postgres';
  return [
    ...wedgedLines(wedged, width),
    ...labLines(lab, width),
    heading('keys'),
    ...pairLines(pg ? postgresKeyLines : keyLines, width),
    [{ text: '' }],
    heading('node table'),
    ...pairLines(pg ? postgresTableLines : tableLines, width),
    [{ text: '' }],
    heading('charts'),
    ...(pg ? postgresChartLines : chartLines).map((line): Segment[] => [{ text: line }]),
  ];
}

function commandLines(width: number, engine: EngineKind = 'replica-lab'): Segment[][] {
  if (engine !== 'postgres') {
    return [
      heading('commands (after :)'),
      ...pairLines(
        commandSpecs.map((spec) => [spec.usage, spec.summary] as const),
        width,
        { textStyle: { dim: true } },
      ),
    ];
  }
  // On PostgreSQL: its own summaries, and what needs Raft apart, named once.
  const raftOnly = new Set(raftOnlyCommandNames);
  const unavailable = ['t', 'v', ...raftOnlyCommandNames.map((name) => `:${name}`)].join(' ');
  return [
    heading('commands (after :)'),
    ...pairLines(
      commandSpecs.filter((spec) => !raftOnly.has(spec.name)).map((spec) => [spec.usage, postgresSummaries[spec.name] ?? spec.summary] as const),
      width,
      { textStyle: { dim: true } },
    ),
    [{ text: '' }],
    heading('need the replica-lab engine'),
    ...wrap(`${unavailable}: leadership transfer, the Raft message pane, the write trace, clock and disk faults, snapshots and membership have no PostgreSQL counterpart here`, width).map((line): Segment[] => [{ text: line, dim: true }]),
  ];
}

/** Every line of the single-column help at this width. */
export function helpLines(width: number, lab?: LabHelp | null, wedged: readonly WedgedNode[] = [], engine: EngineKind = 'replica-lab'): Segment[][] {
  return [...leftLines(lab, width, wedged, engine), [{ text: '' }], ...commandLines(width, engine)];
}

/** How far the help can scroll at this size (0 when it fits). */
export function helpScrollMax(width: number, rows: number, lab?: LabHelp | null, wedged: readonly WedgedNode[] = [], engine: EngineKind = 'replica-lab'): number {
  const columnWidth = Math.floor((width - 2) / 2);
  if (width >= twoColumnsMin) return Math.max(0, Math.max(leftLines(lab, columnWidth, wedged, engine).length, commandLines(columnWidth, engine).length) - rows);
  const lines = helpLines(width, lab, wedged, engine).length;
  return lines <= rows ? 0 : lines - (rows - 1);
}

export function HelpOverlay({ width, rows, scroll, color, lab, wedged = [], engine = 'replica-lab' }: HelpOverlayProps) {
  const render = (lines: Segment[][], lineWidth: number) => lines.map((segments, i) => <SegmentLine key={i} segments={segments} width={lineWidth} color={color} />);
  const top = Math.max(0, Math.min(scroll, helpScrollMax(width, rows, lab, wedged, engine)));
  if (width >= twoColumnsMin) {
    const columnWidth = Math.floor((width - 2) / 2);
    return (
      <Box flexDirection="row" height={rows} width={width}>
        <Box flexDirection="column" width={columnWidth}>
          {render(leftLines(lab, columnWidth, wedged, engine).slice(top, top + rows), columnWidth)}
        </Box>
        <Box width={2} />
        <Box flexDirection="column" width={columnWidth}>
          {render(commandLines(columnWidth, engine).slice(top, top + rows), columnWidth)}
        </Box>
      </Box>
    );
  }
  const all = helpLines(width, lab, wedged, engine);
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
