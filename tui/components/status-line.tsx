// The line above the footer: what the last action did, or the command being typed.
// A long message (a refusal naming the leader, an error) wraps onto a few lines.

import { Box, Text } from 'ink';
import { wrap } from '../format.js';
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
  /** Rows it may take; a longer message is wrapped onto them, the last cut with …. */
  readonly rows?: number;
  readonly color: boolean;
}

/** Width of the glyph and space before a message; wrapped lines start under its text. */
const markWidth = 2;

/** The message's text wrapped to the status line's width (a refusal is read whole, not cut at the edge). */
export function statusLines(text: string, width: number): string[] {
  return wrap(text, Math.max(1, width - markWidth));
}

export function StatusLine({ message, width, rows = 1, color }: StatusLineProps) {
  if (message === null) {
    return <SegmentLine segments={[{ text: '↑↓ or a number selects a node, k kills it · : runs a command · ? help', dim: true }]} width={width} color={color} />;
  }
  const mark = levelMark[message.level];
  const all = statusLines(message.text, width);
  const shown = all.slice(0, Math.max(1, rows));
  // More than fits: the last line shown ends in … (the text is never silently lost).
  if (shown.length < all.length) shown[shown.length - 1] = `${shown[shown.length - 1]!} ${all[shown.length]!}`;
  const textStyle = message.level === 'error' ? { color: 'red' as const } : {};
  return (
    <Box flexDirection="column" width={width}>
      {shown.map((line, i) => (
        <SegmentLine
          key={i}
          segments={[i === 0 ? { text: `${mark.glyph} `, bold: true, ...(mark.color === undefined ? {} : { color: mark.color }) } : { text: ' '.repeat(markWidth) }, { text: line, ...textStyle }]}
          width={width}
          color={color}
        />
      ))}
    </Box>
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
