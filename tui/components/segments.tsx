// One screen line built from styled pieces, cut to the width it is given.
// With colour off every piece is plain text: meaning never rests on colour.

import { Text } from 'ink';
import { fit } from '../format.js';

export type InkColor = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'white' | 'gray';

export interface Segment {
  readonly text: string;
  readonly color?: InkColor;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly inverse?: boolean;
}

export interface SegmentLineProps {
  readonly segments: readonly Segment[];
  readonly width: number;
  readonly color: boolean;
}

export function SegmentLine({ segments, width, color }: SegmentLineProps) {
  const pieces: Segment[] = [];
  let remaining = width;
  for (const segment of segments) {
    if (remaining <= 0) break;
    const text = segment.text.length > remaining ? fit(segment.text, remaining) : segment.text;
    remaining -= text.length;
    pieces.push({ ...segment, text });
  }
  // An empty Text takes no row at all: a blank line must still be a line.
  if (pieces.every((piece) => piece.text === '')) return <Text> </Text>;
  if (!color) return <Text wrap="truncate">{pieces.map((piece) => piece.text).join('')}</Text>;
  return (
    <Text wrap="truncate">
      {pieces.map((piece, i) => (
        <Text key={i} {...(piece.color === undefined ? {} : { color: piece.color })} bold={piece.bold === true} dimColor={piece.dim === true} inverse={piece.inverse === true}>
          {piece.text}
        </Text>
      ))}
    </Text>
  );
}

/** A line of the given width with nothing on it, so fixed-height areas stay fixed. */
export function BlankLine() {
  return <Text> </Text>;
}
