// The top line: how the cluster is set up and how it is doing, at a glance.

import type { Failover, NodeStatus } from '../../cluster/index.js';
import { engineNames, type EngineKind } from '../../cluster/engine.js';
import { formatUptime } from '../format.js';
import type { Snapshot } from '../state/dashboard-state.js';
import { SegmentLine, type Segment } from './segments.js';

export interface HeaderProps {
  readonly snapshot: Snapshot | null;
  readonly failover: Failover;
  readonly uptimeMs: number;
  readonly width: number;
  readonly color: boolean;
  /** Space froze the log and the message pane (the cluster keeps running). */
  readonly frozen?: boolean;
  /** The engine running the cluster (`--engine`); named beside the product unless it is replica-lab's own. */
  readonly engine?: EngineKind;
  /** On PostgreSQL: how it fails over (`manual`, or `auto: manager, fencing on|off`); absent: manual, as PostgreSQL ships. */
  readonly pgFailover?: string;
}

interface Part {
  readonly segments: readonly Segment[];
  /** Lower goes first when the line is too long. */
  readonly priority: number;
  /** A shorter form the part takes, instead of being dropped, when it is the lowest. */
  readonly narrow?: Omit<Part, 'narrow'>;
}

export function Header({ snapshot, failover, uptimeMs, width, color, frozen = false, engine = 'replica-lab', pgFailover = 'manual' }: HeaderProps) {
  const separator: Segment = { text: ' │ ', dim: true };
  let parts: Part[] = [{ segments: [{ text: 'replica-lab', bold: true, color: 'cyan' }], priority: 1 }];
  if (engine !== 'replica-lab') parts.push({ segments: [{ text: `on ${engineNames[engine]}`, bold: true, color: 'blue' }], priority: 10 });
  if (snapshot === null) {
    parts.push({ segments: [{ text: 'starting the cluster…' }], priority: 9 });
  } else {
    const replication = snapshot.replication;
    const degraded = snapshot.nodes.some((node) => node.up && node.degraded);
    const quorum = replication?.mode === 'quorum' && replication.quorum !== null ? `(${replication.quorum})` : '';
    const modeSegments = (text: string): Segment[] => [{ text, bold: true }, ...(degraded ? [{ text: ' DEGRADED→async', color: 'yellow' as const, bold: true }] : [])];
    const mode: Part = { segments: modeSegments(replication === null ? 'mode ?' : `${replication.mode}${quorum}/${replication.ackLevel}`), priority: 9 };
    // On PostgreSQL the setting beside the replica-lab word ("quorum · ANY 1 (n2, n3)/flushed"), while the line has room.
    const pgNames = engine === 'postgres' ? (snapshot.pgSetting ?? null) : null;
    if (pgNames === null || replication === null) parts.push(mode);
    else parts.push({ segments: modeSegments(`${replication.mode} · ${pgNames === '' ? 'no sync standby' : pgNames}/${replication.ackLevel}`), priority: 3.5, narrow: mode });
    // On PostgreSQL "failover manual", or "failover auto: manager, fencing on" ("failover auto" where the line is short).
    const failoverWord = engine === 'postgres' ? pgFailover : failover;
    const failoverShort = failoverWord.split(':')[0]!;
    parts.push({ segments: [{ text: `failover ${failoverWord}` }], priority: 5, ...(failoverShort === failoverWord ? {} : { narrow: { segments: [{ text: `failover ${failoverShort}` }], priority: 5 } }) });
    // The quorum a decision needs: the majority of the voters (learners never count). Absent from status recorded before membership change.
    const voters = snapshot.nodes.filter((node) => (node.member as NodeStatus['member'] | undefined) === 'voter').length;
    if (voters > 0) parts.push({ segments: [{ text: `quorum ${Math.floor(voters / 2) + 1}/${voters}` }], priority: 7 });
    // PostgreSQL has timelines, not terms (its status reports the timeline as `term`).
    parts.push({ segments: [{ text: `${engine === 'postgres' ? 'timeline' : 'term'} ${Math.max(0, ...snapshot.nodes.filter((n) => n.up).map((n) => n.term))}` }], priority: 6 });
    parts.push({
      segments:
        snapshot.leader === null
          ? [{ text: engine === 'postgres' ? 'NO PRIMARY' : 'NO LEADER', color: 'red', bold: true }]
          : [{ text: engine === 'postgres' ? 'primary ' : 'leader ' }, { text: snapshot.leader, color: 'green', bold: true }],
      priority: 9,
    });
    const workload = snapshot.workload;
    if (workload === null) parts.push({ segments: [{ text: 'no workload' }], priority: 4 });
    else {
      parts.push({ segments: [{ text: `writes ${workload.writesPerSecond}/s reads ${workload.readsPerSecond}/s` }], priority: 8 });
      const load = workload.options.rate === null ? 'closed loop' : `load ${workload.options.rate}/s`;
      parts.push({ segments: [workload.running ? { text: load } : { text: 'workload off', color: 'yellow' }], priority: 3 });
    }
  }
  parts.push({ segments: [{ text: `up ${formatUptime(uptimeMs)}` }], priority: 2 });
  if (frozen) parts.push({ segments: [{ text: 'FROZEN', bold: true, inverse: true, color: 'yellow' }], priority: 10 });
  const length = (list: readonly Part[]) => list.flatMap((p) => p.segments).reduce((sum, s) => sum + s.text.length, 0) + (list.length - 1) * separator.text.length;
  while (length(parts) > width && parts.length > 1) {
    const lowest = parts.reduce((low, part) => (part.priority < low.priority ? part : low));
    parts = parts.flatMap((part) => (part !== lowest ? [part] : part.narrow === undefined ? [] : [part.narrow]));
  }
  const segments = parts.flatMap((part, i) => (i === 0 ? part.segments : [separator, ...part.segments]));
  return <SegmentLine segments={segments} width={width} color={color} />;
}
