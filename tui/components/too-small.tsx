// Shown instead of the dashboard when the terminal cannot hold it.

import { Box, Text } from 'ink';
import { terminalColumnsMin, terminalRowsMin } from '../constants.js';

export interface TooSmallProps {
  readonly columns: number;
  readonly rows: number;
}

export function TooSmall({ columns, rows }: TooSmallProps) {
  const lines = [`terminal too small: need ${terminalColumnsMin}×${terminalRowsMin}`, `this one is ${columns}×${rows}`, 'enlarge it, or press q to quit'];
  return (
    <Box flexDirection="column" width={Math.max(1, columns)}>
      {lines.slice(0, Math.max(1, rows - 1)).map((line) => (
        <Text key={line} wrap="truncate">
          {line}
        </Text>
      ))}
    </Box>
  );
}
