// `replica-lab lab <id>` on a terminal: the dashboard with the lab panel. The
// LabSession owns the cluster (it starts a fresh one when a step asks); the
// dashboard drives session.cluster, and quitting stops the session.

import type { Failover } from '../../cluster/index.js';
import { describeEvidence, LabSession, ProgressStore, ReplaySession, type AnyLab, type LabSessionOptions, type LabSessionState, type ReplayLab } from '../../labs/index.js';
import { cliName, UsageError } from '../errors.js';
import { importTui } from './dashboard.js';

export const labNoTerminalMessage = (id: string): string =>
  `the interactive lab needs a terminal (stdin and stdout must be a TTY); run '${cliName} lab ${id} --auto' to watch its autopilot do it`;

export async function runInteractiveLab(lab: AnyLab, dataDir?: string, on: Pick<LabSessionOptions, 'engine' | 'startCluster'> = {}): Promise<void> {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) throw new UsageError(labNoTerminalMessage(lab.id), { seeHelp: false });
  // Ink draws nothing until exit when it believes it runs in CI; a person asked for the lab.
  delete process.env['CI'];
  delete process.env['CONTINUOUS_INTEGRATION'];
  const { runLabDashboard } = await importTui();
  const color = !(process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') && process.env['TERM'] !== 'dumb';
  process.stdout.write(`${cliName}: starting the cluster for '${lab.title}'…\n`);
  const session = await LabSession.start(lab, { mode: 'interactive', progress: new ProgressStore(), ...(dataDir === undefined ? {} : { dataDir }), ...on });
  const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
  let close = (): void => {};
  const onSignal = (): void => close();
  for (const signal of signals) process.on(signal, onSignal);
  let finished = false;
  try {
    const dashboard = runLabDashboard({ session, color, failoverOf: (state) => failoverAt(session.lab, state) });
    close = () => dashboard.close();
    await dashboard.done;
    finished = session.getState().phase === 'finished';
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    await session.stop();
  }
  process.stderr.write(`${cliName}: every node stopped; ${finished ? `lab '${lab.id}' done and recorded` : `lab '${lab.id}' left unfinished; '${cliName} lab ${lab.id}' starts it again`}\n`);
  process.stderr.write(`${describeEvidence(session.evidence(), `${cliName} lab ${lab.id}`).join('\n')}\n`);
}

/** `replica-lab lab figure-8` on a terminal: the replay screen; no cluster, so nothing to stop but the screen. */
export async function runInteractiveReplay(lab: ReplayLab): Promise<void> {
  if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) throw new UsageError(labNoTerminalMessage(lab.id), { seeHelp: false });
  delete process.env['CI'];
  delete process.env['CONTINUOUS_INTEGRATION'];
  const { runReplayLab } = await importTui();
  const color = !(process.env['NO_COLOR'] !== undefined && process.env['NO_COLOR'] !== '') && process.env['TERM'] !== 'dumb';
  const session = new ReplaySession(lab, { mode: 'interactive', progress: new ProgressStore() });
  const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
  let close = (): void => {};
  const onSignal = (): void => close();
  for (const signal of signals) process.on(signal, onSignal);
  try {
    const screen = runReplayLab({ session, color });
    close = () => screen.close();
    await screen.done;
  } finally {
    for (const signal of signals) process.off(signal, onSignal);
    session.stop();
  }
  const finished = session.getState().phase === 'finished';
  process.stderr.write(`${cliName}: ${finished ? `lab '${lab.id}' done and recorded` : `lab '${lab.id}' left unfinished; '${cliName} lab ${lab.id}' starts it again`}\n`);
}

/** How the cluster of the current step was started: the last fresh cluster up to it, else the lab's own. */
function failoverAt(lab: AnyLab, state: LabSessionState): Failover {
  let setup = lab.setup;
  for (const step of lab.steps.slice(0, state.stepIndex + 1)) if (step.freshCluster !== undefined) setup = step.freshCluster;
  return setup.cluster.failover ?? 'raft';
}
