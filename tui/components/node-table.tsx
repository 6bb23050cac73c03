// The node table: one row per node, the selected one marked with ▸. Each
// node's state is a glyph and a word (up, paused, killed, isolated, catching
// up, diverged), so it reads the same with or without colour. Each row is its
// node's last report, so rows are different moments; a row that is visibly an
// earlier one says how old it is (state/row-ages.ts says when and why).

import { Box } from 'ink';
import type { EngineKind } from '../../cluster/engine.js';
import type { NodeId, NodeStatus } from '../../cluster/index.js';
import { catchingUpLagMsMin } from '../constants.js';
import { formatBytes, formatLsn, formatMs, padLeft, padRight } from '../format.js';

export { formatLsn };
import { agedRows } from '../state/row-ages.js';
import { SegmentLine, type InkColor, type Segment } from './segments.js';

export interface NodeTableProps {
  readonly nodes: readonly NodeStatus[];
  readonly leader: NodeId | null;
  readonly selected: number;
  readonly crashed: ReadonlySet<NodeId>;
  readonly divergent: ReadonlySet<NodeId>;
  readonly width: number;
  readonly wide: boolean;
  readonly color: boolean;
  /** The engine (absent: replica-lab). On PostgreSQL positions are LSNs and `term` is the timeline. */
  readonly engine?: EngineKind;
}

export interface NodeState {
  readonly glyph: string;
  readonly word: string;
  readonly color: InkColor;
}

/** Every state that applies to a node, worst first; "up" only when nothing else does. */
export function nodeStates(
  node: NodeStatus,
  context: { leader: NodeId | null; crashed: ReadonlySet<NodeId>; divergent: ReadonlySet<NodeId>; aged?: ReadonlyMap<NodeId, number>; engine?: EngineKind },
): NodeState[] {
  // A node that refused to start on a corrupt WAL (absent from status recorded before it existed).
  if (node.corrupt != null) return [{ glyph: '✕', word: 'corrupt', color: 'red' }];
  if (node.up && node.wedged != null) return [{ glyph: '✕', word: 'wedged', color: 'red' }];
  if (!node.up) return [context.crashed.has(node.id) ? { glyph: '✕', word: 'crashed', color: 'red' } : { glyph: '✕', word: 'killed', color: 'red' }];
  const states: NodeState[] = [];
  if (context.divergent.has(node.id)) states.push({ glyph: '≠', word: 'diverged', color: 'red' });
  // PostgreSQL: a server out of recovery that is not the primary the supervisor promoted (a standby
  // promoted while the old primary ran, without fencing) takes the writes sent to it: split brain.
  if (context.engine === 'postgres' && node.role === 'leader' && context.leader !== null && node.id !== context.leader) states.push({ glyph: '≠', word: `also a primary (${context.leader} is the other)`, color: 'red' });
  if (node.paused) states.push({ glyph: '‖', word: 'paused', color: 'yellow' });
  if (node.isolated) states.push({ glyph: '⊘', word: 'isolated', color: 'yellow' });
  if (node.degraded && node.role === 'leader') states.push({ glyph: '↓', word: 'degraded', color: 'yellow' });
  if (node.clockRate !== undefined && node.clockRate !== 1) states.push({ glyph: '◔', word: `clock ×${node.clockRate}`, color: 'yellow' });
  // A leader holding a lease (once lease reads are in use): it answers them with no round trip.
  if (node.role === 'leader' && (node.leaseMs ?? 0) > 0) states.push({ glyph: '◇', word: 'lease', color: 'cyan' });
  if (isCatchingUp(node, context.leader)) states.push({ glyph: '↻', word: 'catching up', color: 'yellow' });
  // Node-level faults (:disk, :apply): absent from status recorded before they existed.
  const faults = node.faults as NodeStatus['faults'] | undefined;
  if ((faults?.diskSlowMs ?? 0) > 0) states.push({ glyph: '◔', word: `disk +${formatMs(faults!.diskSlowMs)}`, color: 'yellow' });
  if ((faults?.applySlowMs ?? 0) > 0) states.push({ glyph: '◔', word: `apply +${formatMs(faults!.applySlowMs)}`, color: 'yellow' });
  const ageMs = context.aged?.get(node.id);
  if (ageMs !== undefined) states.push({ glyph: '◷', word: `${formatMs(ageMs)} ago`, color: 'gray' });
  if (states.length === 0) states.push({ glyph: '●', word: 'up', color: 'green' });
  return states;
}

/**
 * Far behind and receiving from the leader. The leader goes on measuring a cut-off or frozen
 * follower's lag as it grows, but that node catches up on nothing until its link is back: not when
 * it is isolated or paused, nor when it no longer follows this leader (cut off by a partition, it
 * has become a pre-candidate and forgotten the leader).
 */
function isCatchingUp(node: NodeStatus, leader: NodeId | null): boolean {
  if (node.lag === null || node.lag.replayLagMs < catchingUpLagMsMin) return false;
  return node.id !== leader && !node.paused && !node.isolated && node.role === 'follower' && node.leader === leader;
}

/**
 * The role, and whether the node votes: a learner (it gets the log, never votes) says so instead
 * of "follower", and a running node the configuration does not hold yet says "joining". Status
 * recorded before membership change has no `member`: every node then voted.
 */
function roleText(node: NodeStatus, membershipKnown: boolean, engine: EngineKind): { text: string; color: InkColor | undefined } {
  // PostgreSQL's own words: one primary, standbys streaming from it.
  if (engine === 'postgres' && node.up && node.role === 'leader') return { text: 'primary', color: 'green' };
  if (engine === 'postgres' && node.up && node.role === 'follower') return { text: 'standby', color: undefined };
  const member = node.member as NodeStatus['member'] | undefined;
  if (node.up && node.role === 'follower' && member === 'learner') return { text: 'learner', color: 'cyan' };
  if (node.up && node.role === 'follower' && member === null && membershipKnown) return { text: 'joining', color: 'cyan' };
  switch (node.role) {
    case 'leader':
      return { text: 'leader', color: 'green' };
    case 'follower':
      return { text: 'follower', color: undefined };
    case 'candidate':
      return { text: 'candidate', color: 'yellow' };
    case 'pre-candidate':
      return { text: 'pre-cand', color: 'yellow' };
    case 'down':
      return { text: 'down', color: 'red' };
    default:
      return { text: String(node.role), color: undefined };
  }
}

interface Column {
  readonly title: string;
  readonly width: number;
  readonly align: 'left' | 'right';
  readonly wideOnly: boolean;
  readonly cell: (node: NodeStatus, leader: NodeId | null) => string;
}

const lagCell =
  (pick: (lag: NonNullable<NodeStatus['lag']>) => number) =>
  (node: NodeStatus, leader: NodeId | null): string => {
    if (node.id === leader) return '—';
    return node.lag === null ? '–' : formatMs(pick(node.lag));
  };

const columns: readonly Column[] = [
  { title: 'node', width: 5, align: 'left', wideOnly: false, cell: (n) => n.id },
  { title: 'pid', width: 7, align: 'right', wideOnly: true, cell: (n) => (n.pid === null ? '–' : String(n.pid)) },
  { title: 'term', width: 5, align: 'right', wideOnly: false, cell: (n) => String(n.term) },
  { title: 'last', width: 7, align: 'right', wideOnly: false, cell: (n) => String(n.lastIndex) },
  { title: 'commit', width: 7, align: 'right', wideOnly: false, cell: (n) => String(n.commitIndex) },
  { title: 'applied', width: 8, align: 'right', wideOnly: false, cell: (n) => String(n.appliedIndex) },
  { title: 'write', width: 7, align: 'right', wideOnly: false, cell: lagCell((lag) => lag.writeLagMs) },
  { title: 'flush', width: 7, align: 'right', wideOnly: false, cell: lagCell((lag) => lag.flushLagMs) },
  { title: 'replay', width: 7, align: 'right', wideOnly: false, cell: lagCell((lag) => lag.replayLagMs) },
  { title: 'behind', width: 7, align: 'right', wideOnly: true, cell: (n) => (n.lag === null ? '–' : String(n.lag.entries)) },
  { title: 'bytes', width: 8, align: 'right', wideOnly: true, cell: (n) => (n.lag === null ? '–' : formatBytes(n.lag.bytes)) },
  { title: 'checksum@index', width: 15, align: 'right', wideOnly: true, cell: (n) => (n.checksum === null ? '–' : `${n.checksum.value.slice(0, 6)}@${n.checksum.index}`) },
  // The newest snapshot's index and the WAL kept on disk (issue 14); absent from status recorded before them.
  { title: 'snap', width: 7, align: 'right', wideOnly: true, cell: (n) => snapshotCell(n) },
  { title: 'wal', width: 7, align: 'right', wideOnly: true, cell: (n) => walCell(n) },
  { title: 'rss', width: 7, align: 'right', wideOnly: true, cell: (n) => (n.rssBytes > 0 ? formatBytes(n.rssBytes) : '–') },
  { title: 'seen', width: 6, align: 'right', wideOnly: true, cell: (n) => (n.reportAgeMs === null ? '–' : formatMs(n.reportAgeMs)) },
];

/**
 * On PostgreSQL: the timeline instead of the term, positions as LSNs (the last
 * WAL written or received, and replayed), and no commit column (PostgreSQL has
 * no cluster commit index: its status reports 0 there); behind in bytes.
 */
const postgresColumns: readonly Column[] = columns.flatMap((column): Column[] => {
  switch (column.title) {
    case 'term':
      return [{ ...column, title: 'tli', width: 4 }];
    case 'last':
      return [{ ...column, title: 'last lsn', width: 12, cell: (n) => formatLsn(n.lastIndex) }];
    case 'commit':
      return [];
    case 'applied':
      return [{ ...column, title: 'replay lsn', width: 12, cell: (n) => formatLsn(n.appliedIndex) }];
    // WAL has bytes, not entries (status says lag.entries 0): behind is the bytes between the primary's current LSN and the standby's replay LSN.
    case 'behind':
      return [{ ...column, width: 8, cell: (n) => (n.lag === null ? '–' : formatBytes(n.lag.bytes)) }];
    // No state checksum and no Raft snapshot on PostgreSQL: columns that would say – on every row.
    case 'bytes':
    case 'checksum@index':
    case 'snap':
      return [];
    default:
      return [column];
  }
});

function snapshotCell(node: NodeStatus): string {
  const index = (node.snapshotIndex as number | undefined) ?? 0;
  return node.up && index > 0 ? String(index) : '–';
}

function walCell(node: NodeStatus): string {
  const bytes = node.walBytesRetained as number | null | undefined;
  return node.up && typeof bytes === 'number' ? formatBytes(bytes) : '–';
}

const markWidth = 2;
const roleWidth = 10;

export function NodeTable({ nodes, leader, selected, crashed, divergent, width, wide, color, engine = 'replica-lab' }: NodeTableProps) {
  const shown = (engine === 'postgres' ? postgresColumns : columns).filter((column) => wide || !column.wideOnly);
  const align = (column: Column, text: string) => (column.align === 'left' ? padRight(text, column.width) : padLeft(text, column.width));
  const [first, ...rest] = shown;
  const aged = agedRows(nodes, leader);
  // Before any report (and in recordings older than membership change) no row says voter.
  const membershipKnown = nodes.some((node) => (node.member as NodeStatus['member'] | undefined) === 'voter');
  const headerText =
    ' '.repeat(markWidth) + align(first!, first!.title) + padRight(' role', roleWidth) + rest.map((column) => align(column, column.title)).join('') + '  state';
  return (
    <Box flexDirection="column" width={width}>
      <SegmentLine segments={[{ text: headerText, dim: true, bold: true }]} width={width} color={color} />
      {nodes.map((node, i) => {
        const isSelected = i === selected;
        const role = roleText(node, membershipKnown, engine);
        const states = nodeStates(node, { leader, crashed, divergent, aged, engine });
        const segments: Segment[] = [
          { text: isSelected ? '▸ ' : '  ', bold: true, ...(isSelected ? { color: 'cyan' as const } : {}) },
          { text: align(first!, first!.cell(node, leader)), bold: isSelected, inverse: isSelected },
          { text: padRight(` ${role.text}`, roleWidth), ...(role.color === undefined ? {} : { color: role.color }), bold: node.role === 'leader' },
          { text: rest.map((column) => align(column, column.cell(node, leader))).join('') },
          { text: ' ' },
          ...states.flatMap((state): Segment[] => [{ text: ` ${state.glyph} ${state.word}`, color: state.color }]),
        ];
        return <SegmentLine key={node.id} segments={segments} width={width} color={color} />;
      })}
    </Box>
  );
}
