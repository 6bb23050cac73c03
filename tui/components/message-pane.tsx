// The message pane (v): the last Raft messages between the nodes as a
// sequence diagram, one lane per node, each arrow with its type, term and
// result; above it each node's election timer as a bar that shrinks as the
// timer runs out. It takes the event log's place and size.

import { Box } from 'ink';
import type { NodeId, NodeStatus } from '../../cluster/index.js';
import { formatClock, padRight } from '../format.js';
import type { MessageRow, MessageRowLevel } from '../state/message-rows.js';
import { SegmentLine, type InkColor, type Segment } from './segments.js';

export interface MessagePaneProps {
  readonly rows: readonly MessageRow[];
  readonly ids: readonly NodeId[];
  /** For the election timers: the live nodes, or those of the frozen moment. */
  readonly nodes: readonly NodeStatus[];
  readonly width: number;
  /** Rows under the title, as the event log has. */
  readonly height: number;
  /** Rows scrolled back from the newest. */
  readonly scroll: number;
  /** Set while frozen: when the view was taken. */
  readonly frozenAtMs: number | null;
  readonly color: boolean;
  /** Said instead of "no messages reported yet" when the engine has no Raft messages to report. */
  readonly unavailable?: string;
}

const timeColumns = 13;
const textColumnsMin = 36;
const laneColumnsMin = 3;
const laneColumnsMax = 10;

const levelColor: Record<MessageRowLevel, InkColor | undefined> = { info: 'cyan', ok: 'green', warn: 'yellow', error: 'red', dim: undefined };

/** Columns of each node's lane at this width. */
export function laneColumns(width: number, nodes: number): number {
  return Math.max(laneColumnsMin, Math.min(laneColumnsMax, Math.floor((width - timeColumns - textColumnsMin) / Math.max(1, nodes))));
}

/** Diagram rows shown under the title and the lane header. */
export function messageRowsShown(height: number): number {
  return Math.max(0, height - (height >= 2 ? 1 : 0));
}

/** How far back the pane can scroll with `total` rows. */
export function messageScrollMax(total: number, height: number): number {
  return Math.max(0, total - messageRowsShown(height));
}

export function MessagePane({ rows, ids, nodes, width, height, scroll, frozenAtMs, color, unavailable }: MessagePaneProps) {
  const shown = messageRowsShown(height);
  const top = Math.max(0, rows.length - shown - Math.max(0, Math.min(scroll, messageScrollMax(rows.length, height))));
  const visible = rows.slice(top, top + shown);
  const lane = laneColumns(width, ids.length);
  const title: Segment[] = [
    { text: 'messages', bold: true },
    frozenAtMs === null ? { text: ' live ', dim: true } : { text: ` FROZEN at ${formatClock(frozenAtMs)} `, bold: true, color: 'yellow' },
    ...timerSegments(ids, nodes, width - 24),
  ];
  const position = rows.length === 0 ? (unavailable ?? 'no messages reported yet') : `${top + 1}–${top + visible.length} of ${rows.length}${frozenAtMs === null ? '' : ' · ↑↓ PgUp PgDn'}`;
  const laneHeader: Segment[] = [{ text: padRight('', timeColumns) }, { text: ids.map((id) => center(id, lane)).join(''), bold: true }, { text: ` ${position}`, dim: true }];
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <SegmentLine segments={title} width={width} color={color} />
      {height >= 2 ? <SegmentLine segments={laneHeader} width={width} color={color} /> : null}
      {visible.map((row, i) => (
        <SegmentLine key={`${top + i}`} segments={rowSegments(row, ids, lane)} width={width} color={color} />
      ))}
    </Box>
  );
}

/** One diagram row: time, the lanes with the arrow across them, and what the message says. */
export function rowSegments(row: MessageRow, ids: readonly NodeId[], lane: number): Segment[] {
  const from = ids.indexOf(row.from);
  const to = ids.indexOf(row.to);
  const lanes: string[] = Array.from({ length: ids.length * lane }, (_, i) => (i % lane === Math.floor(lane / 2) ? '│' : ' '));
  let start = 0;
  let end = 0;
  if (from >= 0 && to >= 0 && from !== to) {
    const a = from * lane + Math.floor(lane / 2);
    const b = to * lane + Math.floor(lane / 2);
    const line = row.kind === 'summary' ? '═' : '─';
    start = Math.min(a, b);
    end = Math.max(a, b) + 1;
    for (let i = start; i < end; i++) lanes[i] = line;
    lanes[a] = '●';
    lanes[b] = row.lost ? '✕' : b > a ? '▶' : '◀';
  }
  const text = lanes.join('');
  const color = levelColor[row.level];
  const styled = { ...(color === undefined ? {} : { color }), ...(row.level === 'dim' ? { dim: true } : {}) };
  return [
    { text: `${formatClock(row.atMs)} `, dim: true },
    { text: text.slice(0, start), dim: true },
    { text: text.slice(start, end), ...styled },
    { text: text.slice(end), dim: true },
    { text: ` ${row.from}→${row.to} `, bold: true },
    { text: row.text, ...styled },
  ];
}

/**
 * Each node's election timer: a bar of the time left before it campaigns,
 * full just after it heard from a leader (or voted), empty when it fires.
 */
export function timerSegments(ids: readonly NodeId[], nodes: readonly NodeStatus[], width: number): Segment[] {
  const each = Math.max(8, Math.floor(width / Math.max(1, ids.length)));
  const bar = Math.max(2, Math.min(10, each - 10));
  const segments: Segment[] = [];
  for (const id of ids) {
    const node = nodes.find((n) => n.id === id);
    segments.push({ text: ` ${id} `, bold: true });
    if (node === undefined || !node.up) segments.push({ text: padRight('down', bar + 6), dim: true });
    else if (node.paused) segments.push({ text: padRight('paused', bar + 6), color: 'yellow' });
    else if (node.role === 'leader') segments.push({ text: padRight('leads', bar + 6), color: 'green' });
    else if (node.election == null || node.election.timeoutTicks <= 0) segments.push({ text: padRight('–', bar + 6), dim: true });
    else {
      const { elapsedMs, timeoutMs, elapsedTicks, timeoutTicks } = node.election;
      const left = Math.max(0, timeoutTicks - elapsedTicks) / timeoutTicks;
      const filled = Math.round(left * bar);
      const low = left < 0.25;
      segments.push({ text: '█'.repeat(filled), ...(low ? { color: 'red' as const } : { color: 'cyan' as const }) });
      segments.push({ text: '░'.repeat(bar - filled), dim: true });
      segments.push({ text: padRight(` ${Math.max(0, Math.round(timeoutMs - elapsedMs))}ms`, 6), dim: !low });
    }
  }
  return segments;
}

function center(text: string, width: number): string {
  if (text.length >= width) return text.slice(0, width);
  // The name sits over its lane's line.
  const start = Math.max(0, Math.min(Math.floor(width / 2) - Math.floor((text.length - 1) / 2), width - text.length));
  return ' '.repeat(start) + text + ' '.repeat(width - start - text.length);
}
