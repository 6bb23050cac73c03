// Reads one line of the `:` command line into a Command, or says in one line
// what is wrong with it. Nothing here touches the cluster.

import type { NodeId, ReplicationSettings } from '../../cluster/index.js';
import { clockRateMax, clockRateMin, nodeFaultMsMax } from '../../cluster/fault-limits.js';
import { commandLengthMax } from '../constants.js';
import { snapshotPolicyLimits } from '../../cluster/snapshot/policy-limits.js';

const { retainBytesMin, retainBytesMax } = snapshotPolicyLimits;
import { ackLevels, commandSpecs, findSpec, rateCommand, readConsistencies, replicationModes, sessionGuarantees, type Command, type CommandSpec } from './spec.js';
import { editDistance, looksLikeStatementBody, readAsSql } from './sql-like.js';

export type Parsed = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: string };

class CommandError extends Error {}

const fail = (message: string): never => {
  throw new CommandError(message);
};

export function parseCommand(line: string, ids: readonly NodeId[]): Parsed {
  try {
    return { ok: true, command: parse(line, ids) };
  } catch (error) {
    if (error instanceof CommandError) return { ok: false, error: error.message };
    throw error;
  }
}

function parse(line: string, ids: readonly NodeId[]): Command {
  if (line.length > commandLengthMax) fail(`the command is longer than ${commandLengthMax} characters`);
  const text = line.trim().replace(/^:/, '').trim();
  if (text === '') fail('type a command, e.g. kill n1; ? lists them');
  const [word = '', ...rest] = text.split(/\s+/);
  const name = word.toLowerCase();
  const spec = findSpec(name);
  if (spec === undefined) fail(unknownCommand(word, text.slice(word.length).trim(), ids));
  const usage = `usage: ${spec!.usage}`;
  const args = rest;
  const exactly = (count: number): void => {
    if (args.length !== count) fail(count === 0 ? `${name} takes no arguments` : `${usage}`);
  };
  switch (name) {
    case 'kill':
    case 'restart':
    case 'rebuild':
    case 'pause':
    case 'resume':
    case 'isolate':
    case 'transfer':
    case 'promote':
    case 'snapshot':
      exactly(1);
      return { kind: name, node: nodeArg(args[0]!, ids) };
    case 'add': {
      exactly(1);
      return { kind: 'add-node', as: oneOf(args[0]!, ['learner', 'voter'] as const, 'add') };
    }
    case 'promote-learner':
      exactly(1);
      return { kind: 'promote-learner', node: nodeArg(args[0]!, ids) };
    case 'remove':
      exactly(1);
      return { kind: 'remove-node', node: nodeArg(args[0]!, ids) };
    case 'select': {
      // `select * from kv` is a query typed without sql, not a node that does not exist.
      const body = text.slice(word.length).trim();
      if (looksLikeStatementBody(body)) fail(`select <node> picks a node in the table; SQL goes after sql: sql ${word} ${body}`);
      exactly(1);
      return { kind: 'select', node: nodeArg(args[0]!, ids) };
    }
    case 'heal':
    case 'help':
    case 'quit':
      exactly(0);
      return { kind: name };
    case 'partition':
      return { kind: 'partition', groups: partitionGroups(args, ids, usage) };
    case 'cut': {
      // `cut n1 -> n2`, also written `cut n1->n2`.
      const words = args.join(' ').replace(/->/g, ' -> ').trim().split(/\s+/);
      if (words.length !== 3 || words[1] !== '->') fail(usage);
      const from = nodeArg(words[0]!, ids);
      const to = nodeArg(words[2]!, ids);
      if (from === to) fail(`a node has no link to itself; ${usage}`);
      return { kind: 'cut', from, to };
    }
    case 'delay':
    case 'loss':
      return linkCommand(name, args, ids, usage);
    case 'clock': {
      exactly(2);
      const id = nodeArg(args[0]!, ids);
      const rate = Number(args[1]!.replace(/^[x×]/, ''));
      if (!(Number.isFinite(rate) && rate >= clockRateMin && rate <= clockRateMax)) fail(`a clock rate is a number from ${clockRateMin} to ${clockRateMax} (1 is normal, 0.5 half speed): ${usage}`);
      return { kind: 'clock', node: id, rate };
    }
    case 'disk':
    case 'apply': {
      // `disk n2 slow 20ms`, `apply n2 slow 5ms`; `normal` or `off` clears it.
      if (args.length < 2) fail(usage);
      const id = nodeArg(args[0]!, ids);
      const how = args[1]!.toLowerCase();
      if (how === 'normal' || how === 'off') {
        exactly(2);
        return { kind: 'node-fault', node: id, fault: name, ms: 0 };
      }
      if (how !== 'slow' || args.length !== 3) fail(usage);
      const ms = milliseconds(args[2]!, `${name} slow`, nodeFaultMsMax);
      if (ms === 0) fail(`${name} slow 0ms changes nothing; ${name} ${id} normal clears the fault`);
      return { kind: 'node-fault', node: id, fault: name, ms };
    }
    case 'mode':
      exactly(1);
      return { kind: 'replication', change: { mode: oneOf(args[0]!, replicationModes, 'mode') } };
    case 'ack':
      exactly(1);
      return { kind: 'replication', change: { ackLevel: oneOf(args[0]!, ackLevels, 'ack level') } };
    case 'quorum':
      exactly(1);
      return { kind: 'replication', change: { quorum: args[0] === 'majority' ? null : wholeNumber(args[0]!, 'quorum', 1, ids.length) } };
    case 'sync-timeout':
      exactly(1);
      return { kind: 'replication', change: { syncTimeoutMs: args[0] === 'off' ? null : milliseconds(args[0]!, 'sync-timeout') } };
    case 'fallback':
      exactly(1);
      return { kind: 'replication', change: { syncFallback: oneOf(args[0]!, ['block', 'async'] as const, 'fallback') satisfies ReplicationSettings['syncFallback'] } };
    case 'rate': {
      exactly(1);
      const rate = Number(args[0]!.replace(/\/s$/, ''));
      if (!(Number.isFinite(rate) && rate >= 0 && rate <= 100_000)) fail(`rate must be operations per second from 0 to 100000, got '${args[0]}'`);
      return rateCommand(rate);
    }
    case 'workload':
      exactly(1);
      return { kind: 'workload-running', running: oneOf(args[0]!, ['on', 'off'] as const, 'workload') === 'on' };
    case 'reads': {
      exactly(1);
      const fraction = share(args[0]!, 'reads');
      return { kind: 'workload', change: { readFraction: fraction }, description: `${Math.round(fraction * 100)}% of workload operations are reads` };
    }
    case 'read-from': {
      exactly(1);
      const target = args[0]!;
      if (target === 'leader' || target === 'follower' || target === 'any') return { kind: 'workload', change: { readTarget: target }, description: `workload reads go to ${target === 'any' ? 'any node' : `the ${target}`}` };
      const id = nodeArg(target, ids);
      return { kind: 'workload', change: { readTarget: id }, description: `workload reads go to ${id}` };
    }
    case 'read-consistency': {
      exactly(1);
      const consistency = oneOf(args[0]!, readConsistencies, 'read consistency');
      return { kind: 'workload', change: { readConsistency: consistency }, description: `workload reads are ${consistency}` };
    }
    case 'sql': {
      const sql = text.slice(word.length).trim();
      if (sql === '') fail(usage);
      return { kind: 'sql', sql };
    }
    case 'read': {
      // `read n1 SELECT …` is local; `read n1 linearizable SELECT …` goes through ReadIndex on n1.
      if (args.length < 2) fail(usage);
      const id = nodeArg(args[0]!, ids);
      const afterNode = text.slice(word.length).trim().slice(args[0]!.length).trim();
      const named = (readConsistencies as readonly string[]).includes(args[1]!.toLowerCase());
      if (named && args.length < 3) fail(`${usage} (a statement after ${args[1]!.toLowerCase()})`);
      const consistency = named ? oneOf(args[1]!, readConsistencies, 'read consistency') : 'local';
      const sql = named ? afterNode.slice(args[1]!.length).trim() : afterNode;
      return { kind: 'read', node: id, consistency, sql };
    }
    case 'write': {
      // `write n1 INSERT …`; `write n1 --timeout 2s INSERT …` gives up at 2 s and cancels the statement.
      if (args.length < 2) fail(usage);
      const id = nodeArg(args[0]!, ids);
      let sql = text.slice(word.length).trim().slice(args[0]!.length).trim();
      if (args[1]!.toLowerCase() !== '--timeout') return { kind: 'write', node: id, sql };
      if (args.length < 4) fail(`${usage} (a duration and a statement after --timeout)`);
      const timeoutMs = milliseconds(args[2]!, 'write --timeout', writeTimeoutMsMax);
      if (timeoutMs < 1) fail(`write --timeout must be at least 1ms; got '${args[2]!}'`);
      sql = sql.slice(args[1]!.length).trim().slice(args[2]!.length).trim();
      return { kind: 'write', node: id, sql, timeoutMs };
    }
    case 'trace': {
      const sql = text.slice(word.length).trim();
      return { kind: 'trace', sql: sql === '' ? null : sql };
    }
    case 'sessions': {
      exactly(1);
      const sessions = oneOf(args[0]!, sessionGuarantees, 'sessions');
      const what = sessions === 'none' ? 'no session guarantee: a read answers as its node is' : sessions === 'read-your-writes' ? "read-your-writes sessions: a read waits until its node has the client's own writes" : "causal sessions: a read waits until its node has the client's writes and what it has read";
      return { kind: 'workload', change: { sessions }, description: `workload: ${what}` };
    }
    case 'retain': {
      exactly(1);
      const token = args[0]!.toLowerCase();
      if (token === 'none' || token === 'off') return { kind: 'retain', bytes: null };
      const bytes = byteSize(token);
      if (bytes === null) fail(`retain takes a size such as 256KiB, 1MiB or 65536 (bytes), or none; got '${args[0]}'`);
      if (bytes! < retainBytesMin || bytes! > retainBytesMax) fail(`retain must be from ${retainBytesMin / 1024}KiB to ${retainBytesMax / 1024 ** 4}TiB; got '${args[0]}'`);
      return { kind: 'retain', bytes: bytes! };
    }
    case 'sticky': {
      exactly(1);
      const stickyReads = oneOf(args[0]!, ['on', 'off'] as const, 'sticky') === 'on';
      return { kind: 'workload', change: { stickyReads }, description: stickyReads ? 'workload: sticky reads, each client keeps reading from one node' : 'workload: reads spread over nodes again (sticky off)' };
    }
    default:
      return fail(`'${name}' is listed but not handled; this is a bug`);
  }
}

/** n1, N1 or 1 name node n1; anything else is a one-line error that lists the nodes. */
export function nodeArg(token: string, ids: readonly NodeId[]): NodeId {
  const id = /^\d+$/.test(token) ? `n${token}` : token.toLowerCase();
  if (!ids.includes(id)) fail(`no node '${token}'; nodes are ${ids.join(', ')}`);
  return id;
}

function partitionGroups(args: readonly string[], ids: readonly NodeId[], usage: string): NodeId[][] {
  const groups: NodeId[][] = [[]];
  for (const token of args.flatMap((arg) => arg.split(/(\|)/)).filter((part) => part !== '')) {
    if (token === '|') groups.push([]);
    else groups[groups.length - 1]!.push(nodeArg(token, ids));
  }
  if (groups.length < 2 || groups.some((group) => group.length === 0)) fail(`${usage} (at least two groups, split by |)`);
  const seen = new Set<NodeId>();
  for (const id of groups.flat()) {
    if (seen.has(id)) fail(`${id} is in two groups`);
    seen.add(id);
  }
  return groups;
}

function linkCommand(name: 'delay' | 'loss', args: readonly string[], ids: readonly NodeId[], usage: string): Command {
  if (args.length < 2) fail(usage);
  const first = nodeArg(args[0]!, ids);
  // The second node needs its n (n2, not 2): a bare number there is the value.
  const second = /^n\d+$/i.test(args[1]!) ? nodeArg(args[1]!, ids) : null;
  if (second === first) fail(`a link joins two different nodes`);
  const values = args.slice(second === null ? 1 : 2);
  const others = second === null ? ids.filter((id) => id !== first) : [second];
  const links = others.flatMap((other) => [[first, other] as const, [other, first] as const]);
  const between = second === null ? `${first} and every other node` : `${first} and ${second}`;
  if (name === 'loss') {
    if (values.length !== 1) fail(usage);
    const loss = share(values[0]!, 'loss');
    return { kind: 'link', links, options: { loss }, description: `${Math.round(loss * 1000) / 10}% loss between ${between}` };
  }
  if (values.length !== 1 && !(values.length === 3 && values[1] === 'jitter')) fail(usage);
  const delayMs = milliseconds(values[0]!, 'delay');
  const jitterMs = values.length === 3 ? milliseconds(values[2]!, 'jitter') : 0;
  return { kind: 'link', links, options: { delayMs, jitterMs }, description: `${delayMs}ms${jitterMs > 0 ? ` ±${jitterMs}ms` : ''} delay between ${between}` };
}

function oneOf<T extends string>(token: string, allowed: readonly T[], what: string): T {
  const value = token.toLowerCase();
  if (!(allowed as readonly string[]).includes(value)) fail(`${what} must be ${allowed.join(', ')}; got '${token}'`);
  return value as T;
}

/** The longest deadline `write --timeout` takes (the engines take up to an hour; a person waits far less). */
const writeTimeoutMsMax = 600_000;

/** 50, 50ms, 1.5s. */
/** `256KiB`, `256kb`, `1MiB`, `1mb`, `65536`: bytes (k, M, G as powers of 1024, as PostgreSQL's memory units); null when it is none of these. */
function byteSize(token: string): number | null {
  const match = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?$/.exec(token);
  if (match === null) return null;
  const unit = (match[2] ?? 'b')[0]!;
  const factor = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit as 'b' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : null;
}

/** 50, 50ms, 1.5s: milliseconds up to `max`; a limit is said in ms whichever command says it (`disk` and `apply` alike). */
function milliseconds(token: string, what: string, max = 600_000): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/i.exec(token);
  if (match === null) fail(`${what} must be a duration like 50ms or 1.5s; got '${token}'`);
  const value = Number(match![1]) * (match![2]?.toLowerCase() === 's' ? 1_000 : 1);
  if (value > max) fail(`${what} must be at most ${max}ms; got '${token}'`);
  return Math.round(value);
}

/** 20% or 0.2: a share from 0 to 1. */
function share(token: string, what: string): number {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(token);
  const value = percent !== null ? Number(percent[1]) / 100 : Number(token);
  if (!(Number.isFinite(value) && value >= 0 && value <= 1) || token === '') fail(`${what} must be a percentage like 20% (or a fraction like 0.2); got '${token}'`);
  return value;
}

function wholeNumber(token: string, what: string, min: number, max: number): number {
  const value = Number(token);
  if (!/^\d+$/.test(token) || value < min || value > max) fail(`${what} must be a whole number from ${min} to ${max}, or majority; got '${token}'`);
  return value;
}

/** What to say about a word that is no command: a near command, or SQL that needs sql in front. */
function unknownCommand(word: string, rest: string, ids: readonly NodeId[]): string {
  const name = word.toLowerCase();
  const sql = readAsSql(name, rest, ids);
  if (sql?.kind === 'sql') return `unknown command '${word}'; this looks like SQL, which goes after sql: sql ${sql.statement}`;
  const near = nearCommand(name);
  if (sql?.kind === 'either') {
    const statement = rest === '' ? `${sql.statement} …` : sql.statement;
    return `unknown command '${word}'; SQL goes after sql: sql ${statement}${near === null ? '' : ` (or the command ${near.usage}: ${near.summary})`}`;
  }
  return `unknown command '${word}'${near === null ? '' : ` (did you mean ${near.name}?)`}; ? lists them`;
}

/** The command a near miss meant: a prefix of one, or one or two letters off. */
function nearCommand(word: string): CommandSpec | null {
  const prefixed = commandSpecs.filter((spec) => spec.name.startsWith(word));
  if (word !== '' && prefixed.length === 1) return prefixed[0]!;
  const near = commandSpecs.map((spec) => ({ spec, distance: editDistance(word, spec.name) })).sort((a, b) => a.distance - b.distance)[0];
  return near !== undefined && near.distance <= 2 ? near.spec : null;
}
