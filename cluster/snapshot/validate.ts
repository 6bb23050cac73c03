// Strict checks of a snapshot's meta, as it is read back from disk or arrives
// from a peer: a malformed one is an Invalid with a reason, never trusted.

import { peerPositionMax } from '../limits.js';
import { Invalid } from '../protocol.js';
import type { Membership, SnapshotMeta } from './types.js';

/** Node ids up to n9x: the largest cluster a membership may name. */
export const membersMax = 99;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(path: string, expected: string): never {
  throw new Invalid(`${path}: expected ${expected}`);
}

export function position(value: unknown, path: string): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= peerPositionMax ? value : fail(path, `a whole number from 0 to ${peerPositionMax}`);
}

function nodeIds(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) fail(path, 'an array of node ids');
  if (value.length > membersMax) fail(path, `at most ${membersMax} node ids`);
  return value.map((id, i) => (typeof id === 'string' && /^n[1-9][0-9]?$/.test(id) ? id : fail(`${path}[${i}]`, 'a node id like n1')));
}

export function membership(value: unknown, path: string): Membership {
  if (!isRecord(value)) fail(path, 'a membership { voters, learners }');
  const voters = nodeIds(value.voters, `${path}.voters`);
  const learners = nodeIds(value.learners, `${path}.learners`);
  if (voters.length === 0) fail(`${path}.voters`, 'at least one voter');
  const all = [...voters, ...learners];
  if (new Set(all).size !== all.length) fail(path, 'each node once, as a voter or a learner');
  return { voters, learners };
}

/** A SnapshotMeta, or throws Invalid saying what is wrong. */
export function snapshotMeta(value: unknown, path: string): SnapshotMeta {
  if (!isRecord(value)) fail(path, 'a snapshot meta { index, term, lsn, membership }');
  const index = position(value.index, `${path}.index`);
  const term = position(value.term, `${path}.term`);
  if (index < 1) fail(`${path}.index`, 'an index >= 1');
  if (term < 1) fail(`${path}.term`, 'a term >= 1');
  const lsn = typeof value.lsn === 'number' && Number.isSafeInteger(value.lsn) && value.lsn >= index * 32 ? value.lsn : fail(`${path}.lsn`, 'an lsn of at least 32 bytes an entry');
  return { index, term, lsn, membership: membership(value.membership, `${path}.membership`) };
}

export const isSha256 = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
