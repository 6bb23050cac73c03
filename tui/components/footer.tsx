// The bottom line: the keys that work now, as many as fit (? lists them all).

import { SegmentLine, type Segment } from './segments.js';

export interface KeyHint {
  readonly key: string;
  readonly label: string;
  /** Higher stays longer when the line is narrow. */
  readonly priority: number;
}

export const dashboardKeys: readonly KeyHint[] = [
  { key: '↑↓', label: 'select', priority: 7 },
  { key: 'k', label: 'kill', priority: 8 },
  { key: 'r', label: 'restart', priority: 8 },
  { key: 'p', label: 'pause', priority: 6 },
  { key: 'i', label: 'isolate', priority: 6 },
  { key: 'h', label: 'heal', priority: 6 },
  { key: 'm', label: 'mode', priority: 5 },
  { key: 'a', label: 'ack', priority: 4 },
  { key: '+-', label: 'rate', priority: 3 },
  { key: 't', label: 'transfer', priority: 2 },
  { key: 'P', label: 'promote', priority: 1 },
  { key: 'v', label: 'messages', priority: 2 },
  { key: 'Space', label: 'freeze', priority: 2 },
  { key: ':', label: 'cmd', priority: 9 },
  { key: '?', label: 'help', priority: 10 },
  { key: 'q', label: 'quit', priority: 10 },
];

export interface FooterProps {
  readonly keys: readonly KeyHint[];
  readonly width: number;
  readonly color: boolean;
}

export function Footer({ keys, width, color }: FooterProps) {
  let shown = [...keys];
  const length = (list: readonly KeyHint[]) => list.reduce((sum, k) => sum + k.key.length + 1 + k.label.length, 0) + (list.length - 1) * 2;
  while (shown.length > 1 && length(shown) > width) {
    const lowest = shown.reduce((low, k) => (k.priority < low.priority ? k : low));
    shown = shown.filter((k) => k !== lowest);
  }
  const segments: Segment[] = shown.flatMap((k, i): Segment[] => [
    ...(i === 0 ? [] : [{ text: '  ' }]),
    { text: k.key, bold: true, color: 'cyan' },
    { text: ` ${k.label}`, dim: true },
  ]);
  return <SegmentLine segments={segments} width={width} color={color} />;
}
