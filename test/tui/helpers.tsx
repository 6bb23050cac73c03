// Renders the dashboard (or a component) with ink-testing-library at a given
// terminal size, and waits for what the screen should show.

import { render } from 'ink-testing-library';
import type { ReactElement } from 'react';
import { Dashboard } from '../../tui/dashboard.js';
import type { RecordedController } from './fixtures/recorded-controller.js';

export const escape = '\u001b[';

export type Rendered = ReturnType<typeof render>;

/** Renders at `columns` × `rows`: Ink reads the width from stdout, the dashboard the size from its prop. */
export function renderAt(tree: ReactElement, columns = 100): Rendered {
  const rendered = render(tree);
  Object.defineProperty(rendered.stdout, 'columns', { configurable: true, get: () => columns });
  rendered.stdout.emit('resize');
  return rendered;
}

export function renderDashboard(controller: RecordedController, options: { columns?: number; rows?: number; color?: boolean } = {}): Rendered {
  const columns = options.columns ?? 100;
  const rows = options.rows ?? 30;
  return renderAt(
    <Dashboard controller={controller} failover="raft" color={options.color ?? false} size={{ columns, rows }} pollMs={5} now={() => controller.current.atMs} />,
    columns,
  );
}

/** Polls the last frame until `check` holds; fails with the frame when it does not within `timeoutMs`. */
export async function waitForFrame(rendered: Rendered, check: (frame: string) => boolean, timeoutMs = 3_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = rendered.lastFrame() ?? '';
    if (check(frame)) return frame;
    if (Date.now() > deadline) throw new Error(`the screen never showed what was expected; last frame:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function waitForText(rendered: Rendered, text: string, timeoutMs?: number): Promise<string> {
  return waitForFrame(rendered, (frame) => frame.includes(text), timeoutMs);
}

/** Presses keys one at a time, giving Ink a moment between them as a person would. */
export async function press(rendered: Rendered, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    rendered.stdin.write(key);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

export async function until(check: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const keys = { up: '\u001b[A', down: '\u001b[B', pageDown: '\u001b[6~', pageUp: '\u001b[5~', escape: '\u001b', enter: '\r', tab: '\t', backspace: '\u007f', ctrlC: '\u0003' };

export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}
