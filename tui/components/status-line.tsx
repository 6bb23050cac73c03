// The line above the footer: what the last action did, or the command being typed.

import { Text } from 'ink';
import type { Message, MessageLevel } from '../state/dashboard-state.js';
import { SegmentLine, type InkColor } from './segments.js';

const levelMark: Record<MessageLevel, { readonly glyph: string; readonly color: InkColor | undefined }> = {
  ok: { glyph: '✓', color: 'green' },
  info: { glyph: '·', color: undefined },
  busy: { glyph: '…', color: 'yellow' },
  error: { glyph: '✕', color: 'red' },
};

export interface StatusLineProps {
  readonly message: Message | null;
  readonly width: number;
  readonly color: boolean;
}

export function StatusLine({ message, width, color }: StatusLineProps) {
  if (message === null) {
    return <SegmentLine segments={[{ text: '↑↓ or a number selects a node, k kills it · : runs a command · ? help', dim: true }]} width={width} color={color} />;
  }
  const mark = levelMark[message.level];
  return (
    <SegmentLine
      segments={[{ text: `${mark.glyph} `, bold: true, ...(mark.color === undefined ? {} : { color: mark.color }) }, { text: message.text, ...(message.level === 'error' ? { color: 'red' as const } : {}) }]}
      width={width}
      color={color}
    />
  );
}

export interface CommandLineProps {
  readonly text: string;
  readonly width: number;
  readonly color: boolean;
}

/** The `:` prompt; the cursor is always at the end. Long input scrolls so its end stays visible. */
export function CommandLine({ text, width, color }: CommandLineProps) {
  const room = Math.max(1, width - 3);
  const visible = text.length > room ? `…${text.slice(text.length - room + 1)}` : text;
  return (
    <Text wrap="truncate">
      {color ? <Text color="cyan" bold>:</Text> : ':'}
      {visible}
      {color ? <Text inverse> </Text> : '█'}
    </Text>
  );
}
