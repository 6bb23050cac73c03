// Helpers for tests that run labs on real node processes: every session a
// test starts is stopped in afterEach, even when the test failed, and then
// every node process any of its clusters started must be gone.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import type { ClusterEvent } from '../../cluster/index.js';
import { LabSession, type LabSessionOptions } from '../../labs/index.js';
import type { AnyLab } from '../../labs/types.js';
import { eventually, isAlive } from '../cluster/helpers.js';

const running: LabSession[] = [];
const seenPids = new Set<number>();

/** Starts a lab session that afterEach will stop; records every node pid its clusters start. */
export async function startSession(lab: AnyLab, options: LabSessionOptions = { mode: 'auto', progress: null }): Promise<LabSession> {
  const session = await LabSession.start(lab, options);
  running.push(session);
  watchPids(session);
  session.subscribe(() => watchPids(session));
  return session;
}

function watchPids(session: LabSession): void {
  for (const node of session.cluster.status()) if (node.pid !== null) seenPids.add(node.pid);
  for (const { event } of session.cluster.events() as readonly ClusterEvent[]) if (event.type === 'node-started') seenPids.add(event.pid);
}

afterEach(async () => {
  const sessions = running.splice(0);
  for (const session of sessions) watchPids(session);
  await Promise.all(sessions.map((session) => session.stop()));
  const pids = [...seenPids];
  seenPids.clear();
  const gone = await eventually(() => pids.every((pid) => !isAlive(pid)), 3_000);
  expect(gone, `node processes left behind: ${pids.filter(isAlive).join(', ')}`).toBe(true);
});

/** A fresh XDG_STATE_HOME for one test; removed by the returned function. */
export function temporaryStateHome(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-state-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
