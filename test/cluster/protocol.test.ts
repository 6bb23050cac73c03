// The IPC validators on their own: a well-formed message comes back as the
// typed value, and every malformed field is named in the reason, never thrown.

import { describe, expect, it } from 'vitest';
import { peerPositionMax, peerTermAdoptMax, peerTermProblem, peerTermStepMax } from '../../cluster/limits.js';
import { limits } from '../../cluster/core/index.js';
import { Invalid, parseFromNode, parseHello, parseToNode, unbatch } from '../../cluster/protocol.js';
import { recordBytesMax } from '../../cluster/wal/constants.js';

const entries = [
  { index: 11, term: 2, lsn: 400, kind: 'sql', data: '{"sql":"INSERT INTO kv(k, v) VALUES (?, ?)","params":["a","b"]}', client: 'c1', request: 7 },
  // Each lsn is the one before plus the entry's record size (32 header bytes + kind + data + client).
  { index: 12, term: 2, lsn: 436, kind: 'noop', data: '' },
  { index: 13, term: 3, lsn: 509, kind: 'sql', data: '{"sql":"DELETE FROM kv","params":[]}', client: 'c2' },
];

function append(overrides: Record<string, unknown> = {}, entryList: unknown[] = entries): unknown {
  return { type: 'raft', messages: [{ type: 'append', from: 'n1', to: 'n2', term: 3, prevIndex: 10, prevTerm: 2, entries: entryList, commit: 9, ...overrides }] };
}

function reason(value: unknown): string {
  const parsed = parseToNode(value);
  expect(parsed).toBeInstanceOf(Invalid);
  return (parsed as Invalid).reason;
}

describe('parseToNode: appends', () => {
  it('returns entries with exactly the fields they had, client and request only when present', () => {
    const parsed = parseToNode(append());
    expect(parsed).not.toBeInstanceOf(Invalid);
    const message = (parsed as unknown as { messages: { entries: unknown[] }[] }).messages[0]!;
    expect(message.entries).toEqual(entries);
    expect(Object.keys(message.entries[1]!)).toEqual(['index', 'term', 'lsn', 'kind', 'data']);
    expect(Object.keys(message.entries[2]!)).toEqual(['index', 'term', 'lsn', 'kind', 'data', 'client']);
  });

  it('drops a request id that comes without a client id, as the log does', () => {
    const parsed = parseToNode(append({}, [{ index: 11, term: 2, lsn: 500, kind: 'noop', data: '', request: 4 }]));
    expect((parsed as unknown as { messages: { entries: unknown[] }[] }).messages[0]!.entries[0]).toEqual({ index: 11, term: 2, lsn: 500, kind: 'noop', data: '' });
  });

  it.each([
    ['index', { index: -1 }, 'messages[0].entries[0].index'],
    ['index 0', { index: 0 }, 'messages[0].entries[0].index'],
    ['term', { term: 1.5 }, 'messages[0].entries[0].term'],
    ['lsn', { lsn: '400' }, 'messages[0].entries[0].lsn'],
    ['kind', { kind: 'drop' }, 'messages[0].entries[0].kind'],
    ['data', { data: 42 }, 'messages[0].entries[0].data'],
    ['client', { client: 3 }, 'messages[0].entries[0].client'],
    ['request', { request: -2 }, 'messages[0].entries[0].request'],
  ])('names a bad %s', (_name, change, path) => {
    expect(reason(append({}, [{ ...entries[0], ...change }, entries[1], entries[2]]))).toContain(path);
  });

  it('names an entry that is not an object, and entries that are not an array', () => {
    expect(reason(append({}, [entries[0], null]))).toContain('messages[0].entries[1]');
    expect(reason(append({ entries: 'many' }))).toContain('messages[0].entries: expected an array');
  });

  it('refuses entries that do not follow prevIndex one by one', () => {
    expect(reason(append({ prevIndex: 9 }))).toContain('contiguous after prevIndex');
  });
});

describe("raftMessage: every field of a peer's message within bounds", () => {
  const at = (_path: string, value: unknown): unknown => ({ type: 'raft', messages: [value] });
  const heartbeat = { type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 9, context: 0 };

  it('takes terms and indexes up to peerPositionMax (2^40 - 1) and refuses anything above, however the field is named', () => {
    expect(parseToNode(at('', { ...heartbeat, term: peerPositionMax }))).not.toBeInstanceOf(Invalid);
    expect(reason(at('', { ...heartbeat, term: 2 ** 49 }))).toContain(`messages[0].term: expected a whole number from 0 to ${peerPositionMax} (peerPositionMax)`);
    expect(reason(at('', { ...heartbeat, commit: 2 ** 40 }))).toContain('messages[0].commit');
    expect(reason(at('', { type: 'vote', from: 'n1', to: 'n2', term: 3, pre: false, lastIndex: 2 ** 53, lastTerm: 1, transfer: false }))).toContain('messages[0].lastIndex');
    const positions = { received: 1, flushed: 1, applied: 2 ** 41 };
    expect(reason(at('', { type: 'heartbeat-resp', from: 'n1', to: 'n2', term: 3, context: 0, positions }))).toContain('messages[0].positions.applied');
    expect(reason(append({ prevTerm: 2 ** 45 }))).toContain('messages[0].prevTerm');
    expect(reason(append({}, [{ ...entries[0], term: 2 ** 48 }]))).toContain('messages[0].entries[0].term');
  });

  it('refuses an entry whose lsn is not the one before plus its record size', () => {
    expect(reason(append({}, [entries[0], { ...entries[1], lsn: 437 }, entries[2]]))).toContain('messages[0].entries[1].lsn: expected lsn 436');
    expect(reason(append({}, [entries[0], entries[1], { ...entries[2], lsn: 508 }]))).toContain('messages[0].entries[2].lsn');
    expect(reason(append({}, [{ ...entries[0], lsn: 99 }]))).toContain('an lsn of at least its record size 100');
    expect(reason(append({ prevIndex: 0, prevTerm: 0 }, [{ ...entries[0], index: 1, lsn: 400 }]))).toContain("lsn 100 (the first entry's record size)");
    expect(parseToNode(append({ prevIndex: 0, prevTerm: 0 }, [{ ...entries[0], index: 1, lsn: 100 }]))).not.toBeInstanceOf(Invalid);
  });

  it('refuses entry terms that decrease, fall below prevTerm or pass the message term', () => {
    expect(reason(append({}, [entries[0], entries[1], { ...entries[2], term: 1 }]))).toContain('messages[0].entries[2].term: expected a term of at least 2');
    expect(reason(append({ prevTerm: 3 }))).toContain('messages[0].entries[0].term: expected a term of at least 3');
    expect(reason(append({ term: 2 }))).toContain("messages[0].entries[2].term: expected a term not above the message's term 2");
    expect(reason(append({ prevTerm: 4 }))).toContain("messages[0].prevTerm: expected a term not above the message's term 3");
  });

  it('refuses entries the WAL could not hold: a lone surrogate, a client id or a record over its limits', () => {
    expect(reason(append({}, [{ ...entries[0], data: 'ab\uD800' }]))).toContain('messages[0].entries[0].data: expected well-formed UTF-16');
    expect(reason(append({}, [{ ...entries[0], client: 'ab\uD800' }]))).toContain('messages[0].entries[0].client: expected well-formed UTF-16');
    expect(reason(append({}, [{ ...entries[0], client: 'c'.repeat(70_000) }]))).toContain('messages[0].entries[0].client: expected at most 65535 bytes');
    const data = 'x'.repeat(recordBytesMax);
    expect(reason(append({}, [{ ...entries[0], data, lsn: recordBytesMax * 2 }]))).toContain('(recordBytesMax)');
  });

  describe('the messages of every write (checked on a path of their own)', () => {
    const positions = { received: 12, flushed: 11, applied: 10 };
    const ack = { type: 'append-resp', from: 'n2', to: 'n1', term: 3, index: 12, reject: false, hintIndex: 0, hintTerm: 0, positions };
    const answer = { type: 'heartbeat-resp', from: 'n2', to: 'n1', term: 3, context: 4, positions };
    const messages = (value: unknown): unknown => (parseToNode(at('', value)) as unknown as { messages: unknown[] }).messages[0];

    it('takes them with exactly their own fields, and nothing a sender added', () => {
      for (const message of [ack, answer, heartbeat]) {
        expect(messages(message)).toEqual(message);
        expect(messages({ ...message, extra: 'x', positions: 'positions' in message ? { ...positions, more: 1 } : undefined })).toEqual(message);
      }
      const parsedAppend = (parseToNode(append({ extra: 1 })) as unknown as { messages: Record<string, unknown>[] }).messages[0]!;
      expect(Object.keys(parsedAppend).sort()).toEqual(['commit', 'entries', 'from', 'prevIndex', 'prevTerm', 'term', 'to', 'type']);
    });

    it.each([
      ['from', { from: 'x1' }],
      ['to', { to: 'n0' }],
      ['term', { term: -1 }],
      ['index', { index: 1.5 }],
      ['reject', { reject: 'no' }],
      ['hintIndex', { hintIndex: 2 ** 41 }],
      ['hintTerm', { hintTerm: null }],
      ['positions', { positions: [] }],
      ['positions.flushed', { positions: { ...positions, flushed: '11' } }],
    ])("refuses an append's answer with a bad %s, naming it", (path, change) => {
      expect(reason(at('', { ...ack, ...change }))).toContain(`messages[0].${path}`);
    });

    it.each([
      ['heartbeat', 'commit', { commit: 2 ** 40 }],
      ['heartbeat', 'context', { context: -1 }],
      ['heartbeat-resp', 'context', { context: 0.5 }],
      ['heartbeat-resp', 'positions.received', { positions: { ...positions, received: undefined } }],
      ['append', 'commit', { commit: -3 }],
      ['append', 'prevIndex', { prevIndex: '10' }],
    ])('refuses a %s with a bad %s, naming it', (type, path, change) => {
      const value = type === 'heartbeat' ? { ...heartbeat, ...change } : type === 'heartbeat-resp' ? { ...answer, ...change } : null;
      expect(reason(value === null ? append(change) : at('', value))).toContain(`messages[0].${path}`);
    });
  });

  it("takes an InstallSnapshot message with a sound meta, and names each field of one that is not", () => {
    const meta = { index: 4711, term: 3, lsn: 4711 * 90, membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] } };
    const snapshot = (change: Record<string, unknown> = {}, metaChange: Record<string, unknown> = {}): unknown =>
      at('', { type: 'snapshot', from: 'n1', to: 'n2', term: 3, meta: { ...meta, ...metaChange }, ...change });
    const parsed = parseToNode(snapshot());
    expect(parsed).toEqual({ type: 'raft', messages: [{ type: 'snapshot', from: 'n1', to: 'n2', term: 3, meta }] });
    expect(reason(snapshot({}, { index: 0 }))).toContain('messages[0].meta.index: expected an index >= 1');
    expect(reason(snapshot({}, { index: 2 ** 41 }))).toContain('messages[0].meta.index: expected a whole number from 0');
    expect(reason(snapshot({}, { term: 4 }))).toContain("messages[0].meta.term: expected a term from 1 to the message's term 3");
    expect(reason(snapshot({}, { term: 0 }))).toContain('messages[0].meta.term');
    expect(reason(snapshot({}, { lsn: 4711 }))).toContain('messages[0].meta.lsn: expected an lsn of at least 32 bytes an entry');
    expect(reason(snapshot({}, { lsn: -1 }))).toContain('messages[0].meta.lsn');
    expect(reason(snapshot({}, { membership: { voters: [], learners: [] } }))).toContain('messages[0].meta.membership.voters: expected at least one voter');
    expect(reason(snapshot({}, { membership: { voters: ['n1', 'n1'], learners: [] } }))).toContain('each node once');
    expect(reason(snapshot({}, { membership: { voters: ['n1'], learners: ['x'] } }))).toContain('messages[0].meta.membership.learners[0]');
    expect(reason(snapshot({}, { membership: { voters: Array.from({ length: 100 }, (_, i) => `n${(i % 99) + 1}`), learners: [] } }))).toContain('at most 99 items');
    expect(reason(snapshot({ meta: null }))).toContain('messages[0].meta: expected a snapshot meta');
  });
});

describe('parseToNode and parseFromNode: other messages', () => {
  it('checks an execute in full', () => {
    const execute = { type: 'execute', id: 4, sql: 'DELETE FROM kv', params: ['x', 1, null], replication: null, client: null, request: null };
    expect(parseToNode(execute)).toEqual(execute);
    expect(reason({ ...execute, params: [{}] })).toContain('params[0]');
    expect(reason({ ...execute, id: 'four' })).toContain('id');
  });

  it('takes no raft message from a node over IPC: the supervisor relays nothing, peers talk directly', () => {
    const raw = { type: 'raft', messages: [{ type: 'heartbeat', from: 'n1', to: 'n2', term: 1, commit: 0, context: 0 }] };
    expect(parseFromNode(raw)).toBeInstanceOf(Invalid);
  });

  it('checks link rules field by field, and a hello', () => {
    const rule = { from: 'n1', to: 'n2', cut: true, delayMs: 50, jitterMs: 10, loss: 0.2, duplicate: 0 };
    expect(parseToNode({ type: 'links', rules: [rule] })).toEqual({ type: 'links', rules: [rule] });
    expect(reason({ type: 'links', rules: [{ ...rule, loss: 2 }] })).toContain('rules[0].loss');
    expect(reason({ type: 'links', rules: [{ ...rule, delayMs: -1 }] })).toContain('rules[0].delayMs');
    expect(reason({ type: 'links', rules: [{ ...rule, to: 'x' }] })).toContain('rules[0].to');
    expect(parseHello({ type: 'hello', secret: 's', from: 'client' })).toEqual({ type: 'hello', secret: 's', from: 'client' });
    expect(parseHello({ type: 'hello', secret: 's', from: 'n3' })).toEqual({ type: 'hello', secret: 's', from: 'n3' });
    expect(parseHello({ type: 'hello', secret: 's', from: 'mallory' })).toBeInstanceOf(Invalid);
    expect(parseHello({ type: 'execute', secret: 's', from: 'client' })).toBeInstanceOf(Invalid);
    expect(parseHello('hello')).toBeInstanceOf(Invalid);
  });

  it('unpacks a batch into its parts and leaves anything else whole', () => {
    expect(unbatch({ type: 'batch', messages: [1, 2] })).toEqual([1, 2]);
    expect(unbatch({ type: 'stop' })).toEqual([{ type: 'stop' }]);
    expect(reason({ type: 'batch', messages: [] })).toContain('batches are unpacked first');
  });
});

describe('the terms a node takes from a peer (peerTermProblem)', () => {
  it('takes any term up to peerTermAdoptMax, above it only within peerTermStepMax of its own, and the core stops where the link does', () => {
    expect(limits.termMax).toBe(peerPositionMax);
    expect(peerTermProblem(1, 2)).toBeNull();
    expect(peerTermProblem(1, peerTermAdoptMax)).toBeNull(); // a node down for long catches up
    expect(peerTermProblem(1, peerTermAdoptMax + 1)).toContain('peerTermAdoptMax');
    expect(peerTermProblem(1, peerPositionMax)).toContain('peerTermStepMax');
    // Above the adopt limit, the elections a node may have missed, and no more.
    const own = peerTermAdoptMax + 10;
    expect(peerTermProblem(own, own + 1)).toBeNull();
    expect(peerTermProblem(own, own + peerTermStepMax)).toBeNull();
    expect(peerTermProblem(own, own + peerTermStepMax + 1)).not.toBeNull();
    // A node at the core's limit still hears peers at its own term.
    expect(peerTermProblem(limits.termMax, limits.termMax)).toBeNull();
    // One message leaves more than 2^39 - 2^16 elections before the limit.
    expect(limits.termMax - (peerTermAdoptMax + peerTermStepMax)).toBeGreaterThan(5.4e11);
  });
});
