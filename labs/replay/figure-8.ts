// `figure-8`: the Raft paper's Figure 8 replayed on five real cores in the
// deterministic simulator (cluster/sim/figure8.ts), one message per key press.
// Unlike the other labs it runs no processes: the point is the order of a few
// dozen messages, which a live cluster would never reproduce on demand.
//
// Three replays: the paper's rule (index 2 sits on a majority, is never
// counted as committed, and is overwritten harmlessly); the same with
// `--unsafe commit-previous-term` (n1 counts it as committed, n5 overwrites
// it, and the checker names the violation); and the paper's panel (e), where
// an entry of n1's own term reaches a majority first and n5 can no longer win.

import { figure8Index, figure8Nodes, type Figure8Facts, type Figure8Variant } from '../../cluster/sim/figure8.js';
import type { LabEntry } from '../types.js';

export interface ReplayStepDef {
  readonly title: string;
  readonly variant: Figure8Variant;
  /** The rule the cores run with, as the person would name it. */
  readonly rule: string;
  readonly instruction: string;
  readonly hint: string;
  readonly check: (facts: Figure8Facts) => { readonly passed: boolean; readonly detail: string };
}

/** A lab that replays a scripted scenario in the simulator instead of running a cluster. */
export interface ReplayLab extends LabEntry {
  readonly kind: 'replay';
  readonly steps: readonly ReplayStepDef[];
  /** Lines built from the replays' own figures, one fact set per passed step. */
  readonly debrief: (facts: readonly Figure8Facts[]) => readonly string[];
  readonly quiz: readonly string[];
}

const list = (ids: readonly string[]): string => (ids.length <= 1 ? ids.join('') : `${ids.slice(0, -1).join(', ')} and ${ids.at(-1)!}`);

/** The last log terms of the nodes that refused n5 for its log, and n5's own: "n2's of term 4, n3's of term 4, n5's of term 3". */
function denierTerms(facts: Figure8Facts): string {
  const deniers = facts.n5Denials.filter((d) => d.endsWith('log-behind')).map((d) => d.slice(0, d.indexOf(':')));
  return [...deniers, 'n5'].map((id) => `${id}'s of term ${facts.lastLogTerms[id] ?? '?'}`).join(', ');
}

function notFinished(facts: Figure8Facts): { passed: false; detail: string } | null {
  return facts.done ? null : { passed: false, detail: `the replay is at step ${facts.steps}: keep pressing Space (or f) until it ends` };
}

export const figure8Lab: ReplayLab = {
  kind: 'replay',
  id: 'figure-8',
  title: "Figure 8: why a leader counts replicas only for its own term's entries",
  level: 'advanced',
  minutes: 10,
  concepts: ['commit rule', 'leader completeness', 'election restriction', 'Raft §5.4.2'],
  summary:
    "The Raft paper's Figure 8, replayed on five real consensus cores in the deterministic simulator, one message per key press: an entry stored on a majority can still be overwritten. With the paper's rule that is harmless, because it was never committed; with --unsafe commit-previous-term a leader counts it as committed and the checker catches the loss; and once an entry of the leader's own term is on a majority, the overwrite cannot happen.",
  steps: [
    {
      title: "The paper's rule: a majority is not enough",
      variant: 'safe',
      rule: 'commit only entries of the current term by counting replicas (Raft §5.4.2)',
      instruction:
        'Press Space to deliver one message at a time (f: to the end of the scene) and watch index 2. In (c) n1, leader of term 4, copies its term-2 entry to n3; with n2, which has held it since (a), that is a majority. Does it commit it? Follow it to the end of (d).',
      hint: "n1's commit index stays below 2: its own term-4 entry (index 3) is on n1's disk only. Then n5, whose last entry is of term 3, wins term 5 with n2, n3 and n4 and replaces index 2.",
      check: (facts) => {
        const pending = notFinished(facts);
        if (pending !== null) return pending;
        const majority = facts.term2Holders.length >= 3;
        const passed = majority && facts.term2CommittedBy === null && facts.finalTermAtIndex2 === 3 && facts.violations.length === 0;
        return {
          passed,
          detail: passed
            ? `index 2 of term 2 was on ${list(facts.term2Holders)}'s disks, never counted as committed, and n5 (term ${facts.n5LedTerm ?? '?'}) replaced it with its term-${facts.finalTermAtIndex2} entry: ${facts.violations.length} violations`
            : `the replay ended otherwise than the figure: holders ${list(facts.term2Holders)}, committed by ${facts.term2CommittedBy ?? 'nobody'}, ${facts.violations.length} violations`,
        };
      },
    },
    {
      title: 'With --unsafe commit-previous-term',
      variant: 'unsafe',
      rule: '--unsafe commit-previous-term: commit any entry by counting replicas',
      instruction:
        "The same replay, but the cores count replicas of earlier terms' entries too (`replica-lab sim --unsafe commit-previous-term` uses the same switch). Step through it and watch n1's commit index when index 2 reaches n3, then what n5 does in (d).",
      hint: 'In (c) n1 counts index 2 as committed as soon as n3 reports it on disk. In (d) n5 still wins and overwrites it: the checker names the violation.',
      check: (facts) => {
        const pending = notFinished(facts);
        if (pending !== null) return pending;
        const passed = facts.term2CommittedBy === 'n1' && facts.violations.length > 0;
        return {
          passed,
          detail: passed
            ? `n1 counted index 2 of term 2 as committed, n5 overwrote it, and the checker reported: ${facts.violations.map((v) => `${v.invariant}: ${v.detail}`).join('; ')}`
            : `the unsafe replay ended without the violation (committed by ${facts.term2CommittedBy ?? 'nobody'}, ${facts.violations.length} violations)`,
        };
      },
    },
    {
      title: '(e): an entry of the current term first',
      variant: 'current-term-first',
      rule: 'commit only entries of the current term by counting replicas (Raft §5.4.2)',
      instruction:
        "The paper's rule again, but n2's and n3's disks are fast: n1's term-4 entry (index 3) reaches a majority before n1 crashes. Step through it: what commits, and can n5 still win?",
      hint: 'Index 3 of term 4 on a majority commits index 2 with it (the log matching property). In the end n2 and n3 refuse n5 their votes: their last entry (term 4) is newer than n5\'s (term 3).',
      check: (facts) => {
        const pending = notFinished(facts);
        if (pending !== null) return pending;
        const passed = facts.term2CommittedBy === 'n1' && facts.n5LedTerm === null && facts.violations.length === 0;
        return {
          passed,
          detail: passed
            ? `n1 committed its own term-${facts.n1LedTerm ?? '?'} entry and index ${figure8Index} with it; n5 campaigned and lost (denied by ${facts.n5Denials.join(', ')}); ${facts.violations.length} violations`
            : `the replay ended otherwise: committed by ${facts.term2CommittedBy ?? 'nobody'}, n5 led ${facts.n5LedTerm ?? 'no term'}, ${facts.violations.length} violations`,
        };
      },
    },
  ],
  debrief: (facts) => {
    const [safe, unsafe, current] = facts;
    const lines: string[] = [];
    if (safe !== undefined) {
      lines.push(
        `With the paper's rule, index ${figure8Index} of term 2 reached the disks of ${list(safe.term2Holders)}, a majority of ${figure8Nodes.length}, yet n1 (leader of term ${safe.n1LedTerm ?? '?'}) never counted it as committed; n5 won term ${safe.n5LedTerm ?? '?'} with a term-${safe.finalTermAtIndex2 ?? '?'} entry at index ${figure8Index} and replaced it (${safe.steps} steps, ${safe.violations.length} violations). Being on a majority is not being committed.`,
      );
    }
    if (unsafe !== undefined && unsafe.violations.length > 0) {
      lines.push(
        `With --unsafe commit-previous-term, n1 counted the same entry as committed, and the same election overwrote it: the checker reported ${unsafe.violations.map((v) => `${v.invariant} ("${v.detail}")`).join(' and ')}. A client told "committed" would have lost its write.`,
      );
    }
    if (current !== undefined) {
      lines.push(
        `In (e) n1's own term-${current.n1LedTerm ?? '?'} entry reached a majority first: it committed, index ${figure8Index} with it, and n5 could not win (its votes were denied: ${current.n5Denials.join(', ')}; log-behind means the voter's last entry is newer than n5's: ${denierTerms(current)}). That is the rule of §5.4.2: count replicas only for entries of the current term; earlier entries commit indirectly.`,
      );
    }
    lines.push(
      'This core appends a no-op when it wins (§8) and sends it right behind index 2 (to n3 in the same append), so n2 and n3 received index 3 too, which the paper\'s S2 and S3 never did; the replay gives them slow disks and a power cut that loses it, to recreate panel (d). The no-op is also why a random simulation rarely hits figure 8: the earlier entry and the current-term entry travel together.',
    );
    return lines;
  },
  quiz: ['figure-8', 'previous-term-commit', 'noop-on-election'],
};
