// PostgresCluster: the second engine behind cluster/engine.ts. N real
// PostgreSQL servers (n1 the primary at start, the others standbys made by
// pg_basebackup), on Unix sockets only, every standby's replication
// connection through a proxy this supervisor runs (proxy.ts), where link
// faults act. What status() shows is polled from the servers; nothing is
// computed in their place. See cluster/postgres/README.md.

import { EventEmitter } from 'node:events';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { ResultPromise } from 'execa';
import pg from 'pg';
import type { NodeId } from '../core/index.js';
import { postgresCapabilities, type EngineCapabilities, type ReplicationEngine } from '../engine.js';
import type { Param, ReplicationSettings, RolledBackWrite } from '../protocol.js';
import { BadRequestError, BadStatementError, NotLeaderError, TimeoutError, UnavailableError, type ClusterError } from '../supervisor/errors.js';
import { LostWrites, type LostWrite } from '../supervisor/lost-writes.js';
import { LinkTable, linkOptionsProblem, type LinkOptions } from '../supervisor/network.js';
import { checkStatement, checkWriteIds, requestTimeoutMsDefault, type ExecuteOptions, type ExecuteResult, type QueryOptions, type QueryResult } from '../supervisor/requests.js';
import { Ring } from '../supervisor/ring.js';
import { defaultReplication } from '../supervisor/settings.js';
import { WorkloadEngine } from '../supervisor/workload-engine.js';
import { spawnWatchdog } from '../supervisor/spawn.js';
import type { ClusterEvent, NodeStatus, SupervisorEvent } from '../supervisor/types.js';
import type { NodeEvent } from '../protocol.js';
import { findPgBin } from './binaries.js';
import { pgKvTableSql, pgLogIndexSql, translate } from './dialect.js';
import { LinkProxy } from './proxy.js';
import { LogTail, type ServerLogEvent } from './server-log.js';
import { checkPgReplication, toPg } from './replication.js';
import { childPids, isAlive, logTail, pssBytes, runTool, serverUser, signalServer, spawnPostmaster, type OsUser } from './server.js';

export interface PostgresClusterOptions {
  /** 1 to 9 servers, n1..nN; n1 is the primary at start. Default 3. */
  readonly nodes?: number;
  /** Where the servers' data dirs live; default a temporary dir removed on stop(). */
  readonly dataDir?: string;
  /** The dir of the server binaries; default found (binaries.ts). */
  readonly pgBin?: string;
  /** As the replica-lab Cluster takes them (replication.ts maps them). */
  readonly replication?: Partial<ReplicationSettings>;
  /** Shorthands for replication.mode and replication.ackLevel (the CLI's --mode and --ack). */
  readonly mode?: ReplicationSettings['mode'];
  readonly ack?: ReplicationSettings['ackLevel'];
  /** Seeds the proxies' loss and jitter draws. */
  readonly seed?: number;
  /** How often each server is polled for status (ms). Default 200. */
  readonly pollMs?: number;
  /**
   * `manual` (default): PostgreSQL as it ships; the user or the lab promotes.
   * `auto`: the supervisor's failover manager (failover.ts) promotes the most
   * advanced standby once the primary has been unreachable for
   * failoverTimeoutMs. It is a single process watching, not consensus: the
   * role Patroni or repmgr plays.
   */
  readonly failover?: 'manual' | 'auto';
  /** How long the primary must be unreachable before an automatic failover (ms). Default 3000. */
  readonly failoverTimeoutMs?: number;
  /** With automatic failover: SIGKILL the old primary before promoting (fencing), if it still runs. Default true. */
  readonly fencing?: boolean;
}

/** One automatic failover: the primary it gave up on, the standby it promoted (the one that had received the most WAL), and whether it fenced the old one. */
export interface FailoverDecision {
  readonly atMs: number;
  readonly from: NodeId | null;
  readonly to: NodeId;
  readonly receivedLsn: number;
  readonly fenced: boolean;
  /** Why the promotion failed; null when it succeeded. */
  readonly error: string | null;
}

/** Status polled from one server, as it reported it. */
interface Report {
  readonly recovery: boolean;
  /** pg_current_wal_lsn() (primary only). */
  readonly current: number | null;
  /** pg_current_wal_flush_lsn() (primary only). */
  readonly flushed: number | null;
  /** pg_last_wal_receive_lsn() (standby: received and flushed). */
  readonly received: number | null;
  /** pg_last_wal_replay_lsn(). */
  readonly replayed: number | null;
  readonly timeline: number | null;
  /** pg_stat_wal_receiver.status; null when no walreceiver runs. */
  readonly receiver: string | null;
  readonly walBytes: number;
  readonly walSyncs: number;
  readonly walSyncMs: number;
  readonly walRetained: number | null;
  /** pg_stat_replication, by application_name (the node id). */
  readonly standbys: ReadonlyMap<string, StandbyRow>;
}

interface StandbyRow {
  readonly state: string;
  readonly syncState: string;
  readonly write: number | null;
  readonly flush: number | null;
  readonly replay: number | null;
  readonly writeLagMs: number | null;
  readonly flushLagMs: number | null;
  readonly replayLagMs: number | null;
}

interface Server {
  readonly id: NodeId;
  readonly dir: string;
  readonly data: string;
  readonly sock: string;
  /** The proxy's socket dir: this server's primary_conninfo host. */
  readonly link: string;
  readonly log: string;
  readonly logTail: LogTail;
  child: ChildProcess | null;
  exited: Promise<void> | null;
  paused: boolean;
  expectingExit: boolean;
  /** Starts of this server's postmaster so far. */
  incarnation: number;
  /** Ran as a primary since its data was last copied or rewound: following another primary needs pg_rewind first. */
  wasPrimary: boolean;
  poller: pg.Client | null;
  polling: boolean;
  report: Report | null;
  reportAtMs: number | null;
  pssBytes: number | null;
  /** The postmaster and its children as last listed (for a postmaster that died by itself, whose children lost their parent link). */
  known: number[];
  writePool: pg.Pool | null;
  readPool: pg.Pool | null;
  proxy: LinkProxy | null;
}

interface Ack {
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
  readonly sql: string;
}

const eventsKeptMax = 10_000;
const acksKeptMax = 200_000;
const poolMax = 32;
/** Requests waiting for a pooled connection to one server, at most. */
const waitingMax = 1_000;
const readyTimeoutMs = 60_000;
const toolTimeoutMs = 120_000;
const rowsMax = 10_000;
/** After a deadline: how long the cancel request, and then the cancelled statement's own answer, may take. */
const cancelAnswerMs = 2_000;

/** The WARNING PostgreSQL sends when a commit's wait for its standbys is cancelled: committed locally, not replicated. */
const syncCancelled = /canceling wait for synchronous replication/i;
/** A statement that may write rows (a SELECT calling a writing function is not seen: its write is not confirmable). */
const writesData = /^\s*(INSERT|UPDATE|DELETE|MERGE|WITH)\b/i;
/** The transaction's id once it wrote (NULL before): the key pg_waldump's COMMIT records carry. */
const xidSql = 'SELECT pg_current_xact_id_if_assigned()::text AS xid';

/** int8 as a number (LSNs and idx fit in 2^53), so the workload reads idx as it does on replica-lab. */
const types = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === 20) return (value: string) => {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    };
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

const lsnNumber = (column: string): string => `(${column} - '0/0'::pg_lsn)::bigint`;

const pollSql = `
SELECT pg_is_in_recovery() AS recovery,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE ${lsnNumber('pg_current_wal_lsn()')} END AS current,
  CASE WHEN pg_is_in_recovery() THEN NULL ELSE ${lsnNumber('pg_current_wal_flush_lsn()')} END AS flushed,
  ${lsnNumber('pg_last_wal_receive_lsn()')} AS received,
  ${lsnNumber('pg_last_wal_replay_lsn()')} AS replayed,
  CASE WHEN pg_is_in_recovery() THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
  (SELECT status FROM pg_stat_wal_receiver) AS receiver,
  w.wal_bytes::bigint AS wal_bytes, w.wal_sync AS wal_sync, w.wal_sync_time AS wal_sync_ms,
  (SELECT sum(size) FROM pg_ls_waldir())::bigint AS wal_retained
FROM pg_stat_wal w;
SELECT application_name, state, sync_state,
  ${lsnNumber('write_lsn')} AS write, ${lsnNumber('flush_lsn')} AS flush, ${lsnNumber('replay_lsn')} AS replay,
  extract(epoch FROM write_lag) * 1000 AS write_lag, extract(epoch FROM flush_lag) * 1000 AS flush_lag, extract(epoch FROM replay_lag) * 1000 AS replay_lag
FROM pg_stat_replication`;

const positionSql = `SELECT ${lsnNumber('CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END')} AS position`;
const commitBoundSql = `SELECT ${lsnNumber('pg_current_wal_insert_lsn()')} AS bound, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int AS timeline`;

const num = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * A standby's timeline as polled comes from its walreceiver while it streams,
 * else from its last checkpoint, which can be older than the WAL it replayed
 * (cut off right after a promotion, it said timeline 1 while on 2). A running
 * standby never goes back a timeline: keep the highest its process reported
 * (the report is cleared when the server starts).
 */
export function standbyTimeline(recovery: boolean, polled: number | null, previous: { readonly recovery: boolean; readonly timeline: number | null } | null): number | null {
  if (!recovery || previous === null || !previous.recovery || previous.timeline === null) return polled;
  return polled === null ? previous.timeline : Math.max(polled, previous.timeline);
}

/** The common settings of every server (postgresql.conf, copied to standbys by pg_basebackup and pg_rewind). */
const commonConf = `
# --- replica-lab postgres engine ---
listen_addresses = ''
port = 5432
unix_socket_permissions = 0700
max_connections = 120
shared_buffers = 32MB
wal_level = replica
max_wal_senders = 10
wal_keep_size = '256MB'
wal_log_hints = on
hot_standby = on
hot_standby_feedback = on
wal_receiver_timeout = '10s'
wal_sender_timeout = '10s'
wal_retrieve_retry_interval = '1s'
recovery_target_timeline = 'latest'
track_wal_io_timing = on
synchronous_standby_names = ''
synchronous_commit = on
logging_collector = off
log_line_prefix = '%m [%p] '
log_replication_commands = on
`;

export class PostgresCluster extends EventEmitter {
  readonly engine = 'postgres' as const;
  /** No Raft here: no elections, snapshots, membership, write trace, node or clock faults. */
  readonly capabilities: EngineCapabilities = postgresCapabilities;
  readonly ids: readonly NodeId[];
  readonly dataDir: string;
  readonly pgBin: string;
  private readonly removeDataDir: boolean;
  private readonly user: OsUser | null;
  private readonly servers = new Map<NodeId, Server>();
  private readonly links = new LinkTable();
  private readonly recentEvents = new Ring<ClusterEvent>(eventsKeptMax);
  private readonly recentLog = new Ring<ServerLogEvent>(eventsKeptMax);
  private readonly lost = new LostWrites();
  /** Acknowledged writes whose transaction id is known, by `node/timeline/xid` (insertion order, bounded). */
  private readonly acks = new Map<string, Ack>();
  /** For a write's index (its idx, taken before its commit record), a WAL position at or after the end of that record. */
  private readonly commitBounds = new Map<number, number>();
  private readonly watchdog: ResultPromise;
  private readonly seed: number;
  private readonly pollMs: number;
  private replication: ReplicationSettings;
  private primaryId: NodeId | null;
  private pollTimer: NodeJS.Timeout | null = null;
  private pollCount = 0;
  private waiting = 0;
  private stopping: Promise<void> | null = null;
  private readonly failover: { readonly auto: boolean; readonly timeoutMs: number; readonly fencing: boolean };
  /** When the manager last saw the primary reachable (performance.now()). */
  private primarySeenAtMs = performance.now();
  private failingOver = false;
  private readonly failoverLog: FailoverDecision[] = [];
  /** Connections the proxies refused (link cut) or ended (cut, loss). */
  readonly proxyCounts = { refused: 0, dropped: 0 };
  /**
   * The built-in clients and their online checker (cluster.workload), the same
   * WorkloadEngine the replica-lab engine runs in its worker thread, here on
   * this thread: its reads and writes are this class's query and execute.
   */
  readonly workload: WorkloadEngine;

  /** initdb, start the primary, copy and start the standbys, wait until every standby streams. */
  static async start(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
    const nodes = options.nodes ?? 3;
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new BadRequestError(`nodes must be a whole number from 1 to 9, got ${String(nodes)}`);
    const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
    const replication = checkPgReplication(
      {
        ...defaultReplication,
        ...options.replication,
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        ...(options.ack === undefined ? {} : { ackLevel: options.ack }),
      },
      ids,
    );
    const pollMs = options.pollMs ?? 200;
    if (!(Number.isFinite(pollMs) && pollMs >= 20 && pollMs <= 10_000)) throw new BadRequestError(`pollMs must be from 20 to 10000, got ${String(pollMs)}`);
    if (options.failover !== undefined && options.failover !== 'manual' && options.failover !== 'auto') throw new BadRequestError(`failover must be manual or auto, got ${String(options.failover)}`);
    const failoverTimeoutMs = options.failoverTimeoutMs ?? 3_000;
    if (!(Number.isFinite(failoverTimeoutMs) && failoverTimeoutMs >= 100 && failoverTimeoutMs <= 600_000)) {
      throw new BadRequestError(`failoverTimeoutMs must be from 100 to 600000, got ${String(failoverTimeoutMs)}`);
    }
    const pgBin = findPgBin(options.pgBin);
    const user = serverUser();
    const cluster = new PostgresCluster(ids, pgBin, user, options, replication, pollMs);
    try {
      await cluster.setUp();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  private constructor(ids: NodeId[], pgBin: string, user: OsUser | null, options: PostgresClusterOptions, replication: ReplicationSettings, pollMs: number) {
    super();
    this.ids = ids;
    this.pgBin = pgBin;
    this.user = user;
    this.replication = replication;
    this.pollMs = pollMs;
    this.seed = options.seed ?? 1;
    this.failover = { auto: options.failover === 'auto', timeoutMs: options.failoverTimeoutMs ?? 3_000, fencing: options.fencing ?? true };
    this.primaryId = ids[0]!;
    if (options.dataDir === undefined) {
      this.dataDir = mkdtempSync(join(tmpdir(), 'rl-pg-'));
      this.removeDataDir = true;
    } else {
      this.dataDir = resolve(options.dataDir);
      if (existsSync(this.dataDir) && readdirSync(this.dataDir).length > 0) throw new BadRequestError(`${this.dataDir} is not empty: the postgres engine makes new servers in an empty dir`);
      mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
      this.removeDataDir = false;
    }
    this.own(this.dataDir);
    // libpq finds a server's socket at <host>/.s.PGSQL.5432; a Unix socket path holds at most 107 bytes.
    const longest = join(this.dataDir, 'n9', 'link', '.s.PGSQL.5432');
    if (Buffer.byteLength(longest) > 107) throw new BadRequestError(`${this.dataDir} is too long a path for the servers' Unix sockets (${longest} is over 107 bytes); pick a shorter --data-dir`);
    this.workload = new WorkloadEngine({
      ids,
      dataDir: this.dataDir,
      leader: () => this.leader(),
      reachableNodes: () => this.ids.filter((id) => this.servers.get(id)?.child != null && this.servers.get(id)?.paused === false),
      replicationSettings: () => this.replication,
      execute: (sql, params, options) => this.execute(sql, params, options),
      query: (sql, params, options) => this.query(sql, params, options),
      mono: () => performance.now(),
    });
    this.on('event', (event: ClusterEvent) => this.workload.recordEvent(event));
    for (const id of ids) {
      const dir = join(this.dataDir, id);
      const server: Server = {
        id,
        dir,
        data: join(dir, 'data'),
        sock: join(dir, 'sock'),
        link: join(dir, 'link'),
        log: join(dir, 'postgres.log'),
        logTail: new LogTail(id, join(dir, 'postgres.log')),
        child: null,
        exited: null,
        paused: false,
        expectingExit: false,
        incarnation: 0,
        wasPrimary: id === ids[0],
        poller: null,
        polling: false,
        report: null,
        reportAtMs: null,
        pssBytes: null,
        known: [],
        writePool: null,
        readPool: null,
        proxy: null,
      };
      for (const path of [dir, server.sock, server.link]) {
        mkdirSync(path, { recursive: true, mode: 0o700 });
        this.own(path);
      }
      this.servers.set(id, server);
    }
    // Last, once nothing here can throw: from now on stop() must run, and it ends the watchdog.
    this.watchdog = spawnWatchdog('../postgres/watchdog.js');
    if (this.removeDataDir) this.tellWatchdog({ remove: this.dataDir });
  }

  /** Hands a path to the servers' OS user (as root). */
  private own(path: string): void {
    if (this.user !== null) chownSync(path, this.user.uid, this.user.gid);
  }

  private tellWatchdog(message: object): void {
    if (!this.watchdog.connected) return;
    try {
      this.watchdog.send(message as never);
    } catch {
      // The watchdog is gone; stop() still stops every server.
    }
  }

  /** A tool (initdb, pg_basebackup, pg_rewind and the single-user server it runs…) is watched like a postmaster while it runs. */
  private toolWatch(): { onSpawn: (pid: number) => void; onExit: (pid: number) => void } {
    return { onSpawn: (pid) => this.tellWatchdog({ watch: pid }), onExit: (pid) => this.tellWatchdog({ forget: pid }) };
  }

  private async tool(program: string, args: readonly string[]): Promise<string> {
    const result = await runTool(this.pgBin, program, args, { user: this.user, cwd: this.dataDir, timeoutMs: toolTimeoutMs, ...this.toolWatch() });
    if (result.code !== 0) {
      const output = (result.stderr || result.stdout).trim().slice(-2_000);
      const hint =
        this.user !== null && /permission denied/i.test(output)
          ? ` (the servers run as the OS user ${this.user.name}: every dir above ${this.dataDir} must be searchable by it; a dir under /tmp always is)`
          : '';
      throw new UnavailableError(`${program} failed (exit ${String(result.code)}): ${output}${hint}`, null, 'refused');
    }
    return `${result.stdout}${result.stderr}`;
  }

  private async setUp(): Promise<void> {
    const primary = this.server(this.ids[0]!);
    // 1 MB WAL segments instead of 16: a few MB of WAL per server instead of 50-100 (start, copy and removal are faster), with LSNs unchanged.
    await this.tool('initdb', ['-D', primary.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--wal-segsize=1']);
    appendFileSync(join(primary.data, 'postgresql.conf'), commonConf);
    await this.launch(primary);
    const setup = await this.connect(primary, false);
    try {
      await setup.query(pgKvTableSql);
      await setup.query(pgLogIndexSql);
    } finally {
      await setup.end().catch(() => undefined);
    }
    for (const server of this.servers.values()) {
      server.proxy = await LinkProxy.listen(server.id, server.link, this.proxyPort(), this.seed + Number(server.id.slice(1)), this.user);
    }
    // The standbys are copied and started side by side (each backup waits on the primary's checkpoint and its WAL stream).
    await Promise.all(
      [...this.servers.values()]
        .filter((server) => server.id !== primary.id)
        .map(async (server) => {
          // Straight to the primary's socket: copying is set-up, not the replication link.
          await this.tool('pg_basebackup', ['-h', primary.sock, '-p', '5432', '-U', 'postgres', '-D', server.data, '-X', 'stream', '-c', 'fast', '-R', '--no-sync']);
          await this.launch(server);
        }),
    );
    await this.waitStreaming(this.ids.length - 1, readyTimeoutMs);
    await this.applyReplication();
    this.pollTimer = setInterval(() => this.pollAll(), this.pollMs);
    this.pollAll();
  }

  private proxyPort() {
    return {
      primary: () => {
        const id = this.leader();
        return id === null ? null : { id, socket: join(this.server(id).sock, '.s.PGSQL.5432') };
      },
      isCut: (a: NodeId, b: NodeId) => this.links.isCut(a, b) || this.links.isCut(b, a),
      shaping: (from: NodeId, to: NodeId) => this.links.link(from, to),
      counted: (what: 'refused' | 'dropped') => {
        this.proxyCounts[what]++;
      },
    };
  }

  /** Starts a server's postmaster and waits until it takes connections. */
  private async launch(server: Server): Promise<void> {
    const conninfo = `host=${server.link} port=5432 user=postgres application_name=${server.id} connect_timeout=2`;
    const args = ['-D', server.data, '-c', `unix_socket_directories=${server.sock}`, '-c', `cluster_name=${server.id}`, '-c', `primary_conninfo=${conninfo}`];
    const child = spawnPostmaster(this.pgBin, args, { user: this.user, cwd: this.dataDir, logPath: server.log });
    const pid = child.pid;
    if (pid === undefined) throw new UnavailableError(`could not start the postmaster of ${server.id}`, null, 'down');
    this.tellWatchdog({ watch: pid });
    server.child = child;
    server.known = [pid];
    server.paused = false;
    server.expectingExit = false;
    server.report = null;
    server.reportAtMs = null;
    server.exited = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        // What remains of its children (backends, walsender, walreceiver) goes with it.
        for (const other of server.known) if (other !== pid && isPostgres(other)) process.kill(other, 'SIGKILL');
        this.tellWatchdog({ forget: pid });
        const expected = server.expectingExit;
        server.child = null;
        server.paused = false;
        this.closeConnections(server);
        this.record({ type: 'node-exited', node: server.id, code, signal, expected, logTail: expected ? '' : logTail(server.log) });
        resolveExit();
      });
    });
    // As the replica-lab engine counts: 0 for the first start, then the number of restarts.
    this.record({ type: 'node-started', node: server.id, pid, incarnation: server.incarnation++ });
    const deadline = performance.now() + readyTimeoutMs;
    for (;;) {
      if (server.child !== child) throw new UnavailableError(`${server.id}'s postmaster exited while starting:\n${logTail(server.log)}`, null, 'down');
      try {
        const client = await this.connect(server, false);
        await client.end().catch(() => undefined);
        return;
      } catch {
        if (performance.now() > deadline) throw new UnavailableError(`${server.id} did not accept connections within ${readyTimeoutMs} ms:\n${logTail(server.log)}`, null, 'down');
        await sleep(50);
      }
    }
  }

  private clientConfig(server: Server, readOnly: boolean): pg.ClientConfig {
    return {
      host: server.sock,
      port: 5432,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: 3_000,
      types,
      ...(readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
    };
  }

  private async connect(server: Server, readOnly: boolean): Promise<pg.Client> {
    const client = new pg.Client(this.clientConfig(server, readOnly));
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  private pool(server: Server, readOnly: boolean): pg.Pool {
    const existing = readOnly ? server.readPool : server.writePool;
    if (existing !== null) return existing;
    const pool = new pg.Pool({ ...this.clientConfig(server, readOnly), max: poolMax, idleTimeoutMillis: 10_000 });
    // An idle connection whose server died: the pool drops it; the next request meets the error.
    pool.on('error', () => undefined);
    if (readOnly) server.readPool = pool;
    else server.writePool = pool;
    return pool;
  }

  private closeConnections(server: Server): void {
    for (const pool of [server.writePool, server.readPool]) if (pool !== null) void pool.end().catch(() => undefined);
    server.writePool = null;
    server.readPool = null;
    if (server.poller !== null) void server.poller.end().catch(() => undefined);
    server.poller = null;
    server.polling = false;
  }

  private async waitStreaming(count: number, timeoutMs: number): Promise<void> {
    const primary = this.server(this.primaryId!);
    const client = await this.connect(primary, false);
    try {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const result = await client.query("SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'");
        if ((result.rows[0] as { n: number }).n >= count) return;
        if (performance.now() > deadline) throw new UnavailableError(`fewer than ${count} standbys streaming after ${timeoutMs} ms`, null, 'down');
        await sleep(50);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------
  // Events

  private record(event: SupervisorEvent | NodeEvent): void {
    const entry: ClusterEvent = { atMs: Date.now(), event };
    this.recentEvents.push(entry);
    this.emit('event', entry);
  }

  /** The last events (bounded), oldest first. */
  events(): readonly ClusterEvent[] {
    return this.recentEvents.toArray();
  }

  /**
   * What the servers' logs said (bounded), oldest first: promotion, timeline
   * switch, walreceiver connect and disconnect, synchronous standby changes
   * (server-log.ts). Also emitted as 'server-log'. Kept apart from events():
   * ClusterEvent's union has no PostgreSQL kinds, and the dashboard's event
   * log checks it exhaustively.
   */
  serverLog(): readonly ServerLogEvent[] {
    return this.recentLog.toArray();
  }

  // -------------------------------------------------------------------------
  // Polling

  private pollAll(): void {
    this.pollCount++;
    for (const server of this.servers.values()) {
      for (const entry of server.logTail.read()) {
        this.recentLog.push(entry);
        this.emit('server-log', entry);
      }
    }
    if (this.failover.auto) this.watchPrimary();
    const measureMemory = this.pollCount % Math.max(1, Math.round(1_000 / this.pollMs)) === 1;
    for (const server of this.servers.values()) {
      if (server.child === null || server.paused || server.polling) continue;
      server.polling = true;
      void this.pollOne(server, measureMemory).finally(() => {
        server.polling = false;
      });
    }
  }

  private async pollOne(server: Server, measureMemory: boolean): Promise<void> {
    const child = server.child;
    try {
      if (server.poller === null) server.poller = await this.connect(server, false);
      const poller = server.poller;
      const timer = setTimeout(() => {
        // A poll that hangs (the server is stuck): drop the connection, the next tick opens another.
        if (server.poller === poller) server.poller = null;
        void poller.end().catch(() => undefined);
      }, 2_000);
      const results = (await poller.query(pollSql)) as unknown as pg.QueryResult[];
      clearTimeout(timer);
      if (server.child !== child) return;
      const row = results[0]!.rows[0] as Record<string, unknown>;
      const standbys = new Map<string, StandbyRow>();
      for (const r of results[1]!.rows as Record<string, unknown>[]) {
        standbys.set(String(r['application_name']), {
          state: String(r['state']),
          syncState: String(r['sync_state']),
          write: num(r['write']),
          flush: num(r['flush']),
          replay: num(r['replay']),
          writeLagMs: num(r['write_lag']),
          flushLagMs: num(r['flush_lag']),
          replayLagMs: num(r['replay_lag']),
        });
      }
      server.report = {
        recovery: row['recovery'] === true,
        current: num(row['current']),
        flushed: num(row['flushed']),
        received: num(row['received']),
        replayed: num(row['replayed']),
        timeline: standbyTimeline(row['recovery'] === true, num(row['timeline']), server.report),
        receiver: row['receiver'] === null || row['receiver'] === undefined ? null : String(row['receiver']),
        walBytes: num(row['wal_bytes']) ?? 0,
        walSyncs: num(row['wal_sync']) ?? 0,
        walSyncMs: num(row['wal_sync_ms']) ?? 0,
        walRetained: num(row['wal_retained']),
        standbys,
      };
      server.reportAtMs = performance.now();
      if (measureMemory && child?.pid !== undefined) {
        server.known = [child.pid, ...childPids(child.pid)];
        server.pssBytes = pssBytes(server.known);
      }
    } catch {
      if (server.poller !== null) void server.poller.end().catch(() => undefined);
      server.poller = null;
    }
  }

  /**
   * The failover manager's look at the primary, every poll: reachable means
   * running, not paused, answering its status poll, and linked to at least
   * one standby (a primary cut from every standby is, for a manager standing
   * with them, gone). After failoverTimeoutMs unreachable: fence it (with
   * fencing, SIGKILL if it still runs), then promote the standby that has
   * received the most WAL among those running and linked to another standby
   * (or alone). Without fencing an old primary left running keeps taking the
   * writes sent to it: split brain, as with a manager that cannot fence.
   */
  private watchPrimary(): void {
    if (this.failingOver || this.stopping !== null) return;
    const now = performance.now();
    const id = this.primaryId;
    const primary = id === null ? null : this.server(id);
    const answering = primary !== null && primary.child !== null && !primary.paused && primary.reportAtMs !== null && now - primary.reportAtMs < Math.max(1_000, 5 * this.pollMs);
    const linked = id !== null && this.ids.some((other) => other !== id && !this.links.isCut(id, other) && !this.links.isCut(other, id));
    if (answering && (linked || this.ids.length === 1)) {
      this.primarySeenAtMs = now;
      return;
    }
    if (now - this.primarySeenAtMs < this.failover.timeoutMs) return;
    const candidates = this.ids
      .filter((other) => other !== id)
      .map((other) => this.server(other))
      .filter((server) => server.child !== null && !server.paused && server.report !== null && server.report.recovery);
    if (candidates.length === 0) return;
    const received = (server: Server): number => server.report?.received ?? server.report?.replayed ?? 0;
    const best = candidates.sort((a, b) => received(b) - received(a) || a.id.localeCompare(b.id))[0]!;
    this.failingOver = true;
    void this.failOver(id, best, received(best)).finally(() => {
      this.failingOver = false;
      this.primarySeenAtMs = performance.now();
    });
  }

  private async failOver(old: NodeId | null, next: Server, receivedLsn: number): Promise<void> {
    const unreachable = old === null ? 'no primary' : `${old} unreachable for ${this.failover.timeoutMs} ms`;
    let fenced = false;
    try {
      if (old !== null && this.failover.fencing && this.server(old).child !== null) {
        this.record({ type: 'fault', fault: 'kill', detail: `failover manager: ${unreachable}; fencing it before promoting ${next.id}` });
        await this.kill(old);
        fenced = true;
      }
      await this.promote(next.id);
      this.pushBounded(this.failoverLog, { atMs: Date.now(), from: old, to: next.id, receivedLsn, fenced, error: null });
    } catch (error) {
      this.pushBounded(this.failoverLog, { atMs: Date.now(), from: old, to: next.id, receivedLsn, fenced, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private pushBounded<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > 1_000) list.shift();
  }

  /** The failover manager's decisions (bounded): who was unreachable, whom it promoted and why (received LSN), whether it fenced. */
  /** The PostgreSQL setting behind the replica-lab mode, for a header: "ANY 1 (n2, n3)", "FIRST 1 (n2)", or '' (async); null with no primary. */
  pgSetting(): string | null {
    const primary = this.leader();
    return primary === null ? null : toPg(this.replication, this.ids, primary).synchronousStandbyNames;
  }

  /** How this cluster fails over, for a header: "manual" (the user or a lab promotes, as PostgreSQL ships), or "auto: manager, fencing on|off", the supervisor's failover manager (not consensus). */
  get failoverMode(): string {
    return this.failover.auto ? `auto: manager, fencing ${this.failover.fencing ? 'on' : 'off'}` : 'manual';
  }

  failovers(): readonly FailoverDecision[] {
    return this.failoverLog;
  }

  /**
   * The nodes as the servers last reported them. Fields with no PostgreSQL
   * meaning hold their documented empty values: commitIndex 0 (a commit is a
   * transaction's, not a log index), lag.entries 0 (WAL has bytes, not
   * entries), checksum null, degraded false (a waiting commit never degrades),
   * malformedMessages 0, network null (the proxies' counts are proxyCounts),
   * election null, faults zeros, snapshotIndex 0, member null (no
   * configuration of voters). Positions are LSNs in bytes; term is the timeline.
   */
  status(): NodeStatus[] {
    const now = performance.now();
    const leader = this.leader();
    const primaryReport = leader === null ? null : this.server(leader).report;
    return this.ids.map((id) => {
      const server = this.server(id);
      const r = server.report;
      const up = server.child !== null;
      const isPrimary = r === null ? id === this.primaryId : !r.recovery;
      const row = primaryReport?.standbys.get(id) ?? null;
      const own = (value: number | null | undefined): number => value ?? 0;
      const last = r === null ? 0 : isPrimary ? own(r.current) : own(r.received ?? r.replayed);
      const flushedAt = r === null ? 0 : isPrimary ? own(r.flushed) : own(r.received ?? r.replayed);
      const applied = r === null ? 0 : isPrimary ? own(r.current) : own(r.replayed);
      const position = (lsn: number) => ({ index: lsn, lsn });
      let lag: NodeStatus['lag'] = null;
      if (row !== null && primaryReport !== null && id !== leader && primaryReport.current !== null && row.replay !== null) {
        const bytes = Math.max(0, primaryReport.current - row.replay);
        // PostgreSQL shows NULL lag once a standby has caught up and nothing new was written: that is no lag.
        const ms = (value: number | null): number | null => value ?? (bytes === 0 ? 0 : null);
        const [w, f, a] = [ms(row.writeLagMs), ms(row.flushLagMs), ms(row.replayLagMs)];
        if (w !== null && f !== null && a !== null) lag = { writeLagMs: w, flushLagMs: f, replayLagMs: a, entries: 0, bytes };
      }
      return {
        id,
        pid: server.child?.pid ?? null,
        role: !up ? 'down' : isPrimary ? 'leader' : 'follower',
        term: r?.timeline ?? 0,
        leader,
        up,
        paused: server.paused,
        isolated: this.links.isIsolated(id, this.ids),
        lastIndex: last,
        lastLsn: last,
        flushedIndex: flushedAt,
        commitIndex: 0,
        appliedIndex: applied,
        received: position(row?.write ?? last),
        flushed: position(row?.flush ?? flushedAt),
        applied: position(row?.replay ?? applied),
        lag,
        checksum: null,
        degraded: false,
        replication: isPrimary && up ? this.replication : null,
        malformedMessages: 0,
        rssBytes: up ? (server.pssBytes ?? 0) : 0,
        wal: r === null ? null : { bytes: r.walBytes, fsyncs: r.walSyncs, fsyncMs: r.walSyncMs },
        network: null,
        reportAgeMs: server.reportAtMs === null ? null : now - server.reportAtMs,
        election: null,
        faults: { diskSlowMs: 0, applySlowMs: 0 },
        wedged: null,
        snapshotIndex: 0,
        walBytesRetained: r?.walRetained ?? null,
        member: null,
      } satisfies NodeStatus;
    });
  }

  /** What pg_stat_replication said of each standby at the last poll (state and sync_state), for the dashboard and tests. */
  replicationRows(): { readonly node: NodeId; readonly state: string; readonly syncState: string }[] {
    const leader = this.leader();
    const report = leader === null ? null : this.server(leader).report;
    if (report === null) return [];
    return [...report.standbys].map(([node, row]) => ({ node, state: row.state, syncState: row.syncState }));
  }

  // -------------------------------------------------------------------------
  // Leadership

  /** The primary: the server this supervisor started or promoted as one, when it runs and is not paused. */
  leader(): NodeId | null {
    const id = this.primaryId;
    if (id === null) return null;
    const server = this.server(id);
    return server.child !== null && !server.paused ? id : null;
  }

  /** There are no elections: this waits for the primary to be up (after a restart or a promotion). */
  async waitForLeader(options: { timeoutMs?: number } = {}): Promise<NodeId> {
    this.checkRunning();
    const timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const leader = this.leader();
      if (leader !== null) return leader;
      if (performance.now() >= deadline) throw new TimeoutError(`no primary within ${timeoutMs} ms (PostgreSQL elects none: promote a standby)`);
      await sleep(10);
    }
  }

  /** `pg_ctl promote`: the standby leaves recovery on a new timeline and becomes the primary the proxies forward to. */
  async promote(id: NodeId): Promise<void> {
    this.checkRunning();
    const server = this.server(id);
    if (server.child === null) throw new UnavailableError(`${id} is down: start it before promoting it`, null, 'down');
    if (server.paused) throw new UnavailableError(`${id} is paused: resume it before promoting it`, null, 'down');
    if (this.primaryId === id) {
      if (server.report === null || !server.report.recovery) return;
    }
    await this.tool('pg_ctl', ['promote', '-D', server.data, '-w', '-t', '60']);
    this.primaryId = id;
    server.wasPrimary = true;
    for (const other of this.servers.values()) other.proxy?.enforce();
    const client = await this.connect(server, false);
    try {
      const result = await client.query(commitBoundSql);
      const row = result.rows[0] as { bound: number; timeline: number };
      this.record({ type: 'promoted', node: id, term: row.timeline, lastIndex: row.bound });
    } finally {
      await client.end().catch(() => undefined);
    }
    await this.applyReplication();
  }

  // -------------------------------------------------------------------------
  // Replication settings

  async setReplication(change: Partial<ReplicationSettings>): Promise<ReplicationSettings> {
    this.checkRunning();
    const next = checkPgReplication({ ...this.replication, ...change }, this.ids);
    this.replication = next;
    await this.applyReplication();
    this.record({ type: 'replication-set', replication: next });
    return next;
  }

  replicationSettings(): ReplicationSettings {
    return this.replication;
  }

  /** The PostgreSQL settings now in force on the primary, as it reports them. */
  async pgSettings(): Promise<{ synchronousStandbyNames: string; synchronousCommit: string }> {
    const leader = this.leader();
    if (leader === null) throw new UnavailableError('there is no primary to ask', null, 'no-leader');
    const client = await this.connect(this.server(leader), false);
    try {
      const result = await client.query("SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS sc");
      const row = result.rows[0] as { names: string; sc: string };
      return { synchronousStandbyNames: row.names, synchronousCommit: row.sc };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** ALTER SYSTEM on the primary, pg_reload_conf(), then waits until the primary reports the new values. */
  private async applyReplication(): Promise<void> {
    const leader = this.leader();
    if (leader === null) return;
    const wanted = toPg(this.replication, this.ids, leader);
    const client = await this.connect(this.server(leader), false);
    try {
      // Node ids and the three values are from fixed sets (checked): nothing to quote beyond the literal.
      await client.query(`ALTER SYSTEM SET synchronous_standby_names = '${wanted.synchronousStandbyNames}'`);
      await client.query(`ALTER SYSTEM SET synchronous_commit = '${wanted.synchronousCommit}'`);
      await client.query('SELECT pg_reload_conf()');
      const deadline = performance.now() + 5_000;
      for (;;) {
        const result = await client.query("SELECT current_setting('synchronous_standby_names') AS names, current_setting('synchronous_commit') AS sc");
        const row = result.rows[0] as { names: string; sc: string };
        if (row.names === wanted.synchronousStandbyNames && row.sc === wanted.synchronousCommit) return;
        if (performance.now() > deadline) throw new UnavailableError(`${leader} did not take the new replication settings within 5 s (it reports '${row.names}', ${row.sc})`, null, 'refused');
        await sleep(20);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------
  // Requests

  private async withClient<T>(server: Server, readOnly: boolean, deadline: number, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (server.child === null) throw new UnavailableError(`${server.id} is down`, null, 'down');
    if (this.waiting >= waitingMax) throw new UnavailableError(`${waitingMax} requests already wait for a connection`, null, 'busy');
    this.waiting++;
    let client: pg.PoolClient;
    const connecting = this.pool(server, readOnly).connect();
    try {
      client = await connectWithin(connecting, deadline - performance.now());
    } catch (error) {
      throw new UnavailableError(`cannot connect to ${server.id}: ${error instanceof Error ? error.message : String(error)}`, null, 'down');
    } finally {
      this.waiting--;
    }
    let broken: Error | undefined;
    // A checked-out client's connection error is emitted on the client, not the pool: without a
    // listener it would be an uncaught exception. The query in flight fails with it anyway.
    const onError = (error: Error): void => {
      broken ??= error;
    };
    client.on('error', onError);
    try {
      return await work(client);
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.off('error', onError);
      // A connection closed with a statement still running there may still say something: nobody listens any more.
      if (broken !== undefined) client.on('error', () => undefined);
      client.release(broken);
    }
  }

  /**
   * Runs `text` on `client` until the deadline. With `cancel` false it is left
   * running there: the TimeoutError marks the connection broken, so it is
   * closed, and the server goes on (a commit waiting for its standbys stays
   * invisible until they answer or the server dies; PostgreSQL does not watch
   * a waiting client's socket unless client_connection_check_interval is set).
   * With `cancel`, it is cancelled (pg_cancel_backend) at the deadline.
   * Once the server has taken the cancel, the statement's own answer says what
   * happened, and is waited for (at most cancelAnswerMs): an error (cancelled
   * before it committed), or a result (it finished, or it had committed and
   * only its wait for the standbys was cancelled: the WARNING in `notices`,
   * which the caller reads). With no answer it rejects with TimeoutError.
   */
  private async run(server: Server, client: pg.PoolClient, text: string, values: readonly Param[], deadline: number, notices: string[], cancel = true): Promise<pg.QueryResult> {
    const onNotice = (notice: { message?: string; detail?: string }): void => {
      if (notices.length < 16) notices.push(`${notice.message ?? ''}${notice.detail === undefined ? '' : ` (DETAIL: ${notice.detail})`}`);
    };
    client.on('notice', onNotice);
    const pid = (client as unknown as { processID?: number }).processID ?? null;
    const query = client.query({ text, values: [...values] });
    query.catch(() => undefined); // an answer nobody waits for any more must not be an unhandled rejection
    const timers: NodeJS.Timeout[] = [];
    const after = (ms: number) => new Promise<null>((resolve) => void timers.push(setTimeout(() => resolve(null), Math.max(1, ms))));
    const late = `no answer from ${server.id} in time (the statement was cancelled; a write may still have committed)`;
    try {
      const first = await Promise.race([query, after(deadline - performance.now())]);
      if (first !== null) return first;
      if (!cancel) throw new TimeoutError(`no answer from ${server.id} in time; the statement was left running there (not cancelled): a write may still commit`);
      if (pid === null || !(await this.cancel(server, pid))) throw new TimeoutError(late);
      const answer = await Promise.race([query, after(cancelAnswerMs)]);
      if (answer === null) throw new TimeoutError(late);
      return answer;
    } finally {
      for (const timer of timers) clearTimeout(timer);
      client.off('notice', onNotice);
    }
  }

  /** pg_cancel_backend on a connection of its own (the poller's may be busy): true once the server took it; a paused or dead server just does not answer. */
  private async cancel(server: Server, pid: number): Promise<boolean> {
    if (server.child === null || server.paused) return false;
    try {
      const client = await this.connect(server, false);
      try {
        const result = await withTimeout(client.query('SELECT pg_cancel_backend($1) AS sent', [pid]), cancelAnswerMs);
        return (result.rows[0] as { sent?: unknown } | undefined)?.sent === true;
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch {
      return false;
    }
  }

  /** A write, on the primary unless `node` is named. */
  async execute(sql: string, params: readonly Param[] = [], options: ExecuteOptions = {}): Promise<ExecuteResult> {
    this.checkRunning();
    checkStatement(sql, params);
    checkWriteIds(options);
    if (options.mode !== undefined || options.ackLevel !== undefined || options.quorum !== undefined) {
      throw new BadRequestError('per-write replication overrides are not offered on PostgreSQL here: synchronous_standby_names is server-wide; use setReplication');
    }
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? requestTimeoutMsDefault;
    const deadline = started + timeoutMs;
    let target = options.node ?? this.leader();
    if (target === null) {
      try {
        target = await this.waitForLeader({ timeoutMs });
      } catch {
        throw new UnavailableError(`no primary within ${timeoutMs} ms (PostgreSQL elects none: promote a standby)`, null, 'no-leader');
      }
    }
    const server = this.server(target);
    const { text, returnsIdx } = translate(sql);
    return this.withClient(server, false, deadline, async (client) => {
      const notices: string[] = [];
      let result: pg.QueryResult;
      // Any other write learns its transaction id in its own transaction (2 more round trips on the
      // socket), so a rewind that removes its COMMIT record can confirm it lost, as the workload's.
      let xid: unknown = returnsIdx ? undefined : null;
      try {
        const cancel = options.cancelAtDeadline === true;
        if (returnsIdx || !writesData.test(text)) result = await this.run(server, client, text, params, deadline, notices, cancel);
        else {
          await this.run(server, client, 'BEGIN', [], deadline, notices, cancel);
          result = await this.run(server, client, text, params, deadline, notices, cancel);
          xid = (await this.run(server, client, xidSql, [], deadline, notices, cancel)).rows[0]?.xid ?? null;
          await this.run(server, client, 'COMMIT', [], deadline, notices, cancel);
        }
      } catch (error) {
        throw this.mapError(error, server, true);
      }
      if (notices.some((notice) => syncCancelled.test(notice))) {
        const warning = notices.find((notice) => syncCancelled.test(notice))!;
        throw new TimeoutError(`the commit's wait for the standbys was cancelled on ${server.id}: it is committed there, but not replicated as the mode asks. PostgreSQL said WARNING: ${warning}`);
      }
      let bound: { bound: number; timeline: number };
      try {
        bound = (await this.run(server, client, commitBoundSql, [], deadline + 1_000, notices)).rows[0] as { bound: number; timeline: number };
      } catch (error) {
        throw this.mapError(error, server, true);
      }
      const row = result.rows[0] as Record<string, unknown> | undefined;
      const index = returnsIdx && row !== undefined && typeof row['idx'] === 'number' ? row['idx'] : bound.bound;
      this.remember(this.commitBounds, index, bound.bound);
      this.lost.acknowledged(index, bound.timeline);
      if (returnsIdx) xid = row?.['xid'];
      if (xid !== undefined && xid !== null) this.remember(this.acks, `${server.id}/${bound.timeline}/${String(xid)}`, { node: server.id, index, term: bound.timeline, sql });
      return { index, term: bound.timeline, leader: server.id, latencyMs: performance.now() - started };
    });
  }

  private remember<K, V>(map: Map<K, V>, key: K, value: V): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > acksKeptMax) map.delete(map.keys().next().value as K);
  }

  /**
   * A read. `local` reads the named node (default the primary); `linearizable`
   * and `lease` read the primary: PostgreSQL has no ReadIndex, so a deposed
   * primary that does not know it (split brain) answers too. With minIndex
   * the node first waits until it has replayed past that write's commit.
   */
  async query(sql: string, params: readonly Param[] = [], options: QueryOptions = {}): Promise<QueryResult> {
    this.checkRunning();
    checkStatement(sql, params);
    const started = performance.now();
    const deadline = started + (options.timeoutMs ?? requestTimeoutMsDefault);
    const consistency = options.consistency ?? 'local';
    const leader = this.leader();
    if (options.node !== undefined) this.server(options.node);
    if (consistency !== 'local' && options.node !== undefined && options.node !== leader) {
      throw new NotLeaderError(`${options.node} is not the primary: a ${consistency} read goes to the primary`, options.node, leader);
    }
    const target = options.node ?? leader;
    if (target === null) throw new UnavailableError('there is no primary to read from', null, 'no-leader');
    const server = this.server(target);
    const wanted = options.minIndex === undefined ? 0 : (this.commitBounds.get(options.minIndex) ?? options.minIndex);
    return this.withClient(server, true, deadline, async (client) => {
      const notices: string[] = [];
      try {
        let position: number;
        for (;;) {
          position = ((await this.run(server, client, positionSql, [], deadline, notices)).rows[0] as { position: number }).position;
          if (position >= wanted) break;
          if (performance.now() + 10 >= deadline) throw new TimeoutError(`${target} had not replayed up to ${wanted} in time (it is at ${position})`);
          await sleep(10);
        }
        const result = await this.run(server, client, translate(sql).text, params, deadline, notices);
        const rows = (result.rows as Record<string, unknown>[]) ?? [];
        return {
          columns: (result.fields ?? []).map((field) => field.name),
          rows: rows.slice(0, rowsMax),
          truncated: rows.length > rowsMax,
          node: target,
          index: position,
          latencyMs: performance.now() - started,
        };
      } catch (error) {
        throw this.mapError(error, server, false);
      }
    });
  }

  /** A pg error as the replica-lab error classes. `sent`: the statement may have reached the server. */
  private mapError(error: unknown, server: Server, write: boolean): ClusterError {
    if (error instanceof TimeoutError || error instanceof UnavailableError || error instanceof NotLeaderError || error instanceof BadStatementError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : null;
    if (code === '25006') {
      if (write) return new NotLeaderError(`${server.id} is a standby (read-only): ${message}`, server.id, this.leader());
      return new BadStatementError(`a query runs read-only; send writes with execute: ${message}`);
    }
    if (code === '57014') return new TimeoutError(`${server.id} cancelled the statement: ${message}`);
    if (code === '57P03' || code === '53300') return new UnavailableError(`${server.id} cannot take it now: ${message}`, null, 'busy');
    if (code !== null && /^(08|57P)/.test(code)) return new UnavailableError(`${server.id}: ${message}`, null, write ? 'node-died' : 'down');
    if (code !== null && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('XX') && !code.startsWith('58')) return new BadStatementError(`${server.id}: ${message} (SQLSTATE ${code})`);
    // No SQLSTATE: the connection broke; a write may have reached the server.
    return new UnavailableError(`${server.id}: ${message}`, null, write ? 'node-died' : 'down');
  }

  // -------------------------------------------------------------------------
  // Faults

  /** SIGKILL of the postmaster, then of its whole process group, so no backend lingers. */
  async kill(id: NodeId): Promise<void> {
    this.checkRunning();
    const server = this.server(id);
    const child = server.child;
    if (child === null || child.pid === undefined) return;
    server.expectingExit = true;
    const pids = signalServer(child.pid, 'SIGKILL');
    server.known = pids;
    this.record({ type: 'fault', fault: 'kill', detail: `${id} killed (SIGKILL of the postmaster and its ${pids.length - 1} children)` });
    await server.exited;
    await waitGone(pids, 5_000);
  }

  /**
   * Starts a stopped server again. The primary restarts as the primary (crash
   * recovery). Any other server follows the current primary; one that ran as a
   * primary since (an old primary after a promotion), or whose WAL is on an
   * older timeline than the primary's (a standby that may have received WAL
   * past the switch point), is first rewound with pg_rewind through its
   * link's proxy, and the acknowledged writes whose commits it removed are
   * listed in lostWrites(). With `rebuild`, the server
   * is stopped, its data removed and copied again from the primary
   * (pg_basebackup through its proxy), as a new standby.
   */
  async restart(id: NodeId, options: { rebuild?: boolean } = {}): Promise<void> {
    this.checkRunning();
    const server = this.server(id);
    if (options.rebuild === true) return this.rebuild(server);
    if (server.child !== null) return;
    const leader = this.leader();
    // Asked now, not from the last poll: right after a promotion the poll may still say the old timeline.
    const primaryTimeline = leader === null ? null : await this.timelineNow(this.server(leader));
    const ownTimeline = timelineOf(server.data);
    // A standby whose WAL is on an older timeline may hold WAL past the switch point (async): it cannot follow the new timeline until rewound.
    const behind = id !== this.primaryId && primaryTimeline !== null && ownTimeline !== null && ownTimeline < primaryTimeline;
    const rewound = id !== this.primaryId && (server.wasPrimary || behind);
    const why = server.wasPrimary ? 'it had run as a primary' : `its WAL was on timeline ${ownTimeline}`;
    if (rewound) {
      if (leader === null) throw new UnavailableError(`${id} must be rewound from the primary, and there is none up`, null, 'no-leader');
      await this.rewind(server);
    }
    // Said in the event, so the dashboard's log shows the rewind a restart did.
    this.record({ type: 'fault', fault: 'restart', detail: rewound ? `${id} rewound by pg_rewind to ${leader}'s timeline (${why}), restarted from ${server.data}` : `${id} restarted from ${server.data}` });
    await this.launch(server);
  }

  /** The server's current timeline, asked of it; null when it does not answer. */
  private async timelineNow(server: Server): Promise<number | null> {
    try {
      const client = await this.connect(server, false);
      try {
        const result = await client.query(commitBoundSql);
        return (result.rows[0] as { timeline: number }).timeline;
      } finally {
        await client.end().catch(() => undefined);
      }
    } catch {
      return server.report?.timeline ?? null;
    }
  }

  private async rebuild(server: Server): Promise<void> {
    if (server.id === this.primaryId) throw new BadRequestError(`${server.id} is the primary: there is nothing to copy it from; promote a standby first`);
    if (this.leader() === null) throw new UnavailableError(`${server.id} is copied from the primary, and there is none up`, null, 'no-leader');
    if (server.child !== null) await this.kill(server.id);
    rmSync(server.data, { recursive: true, force: true });
    // Through the proxy: a cut link stops the copy as it stops replication.
    await this.tool('pg_basebackup', ['-h', server.link, '-p', '5432', '-U', 'postgres', '-D', server.data, '-X', 'stream', '-c', 'fast', '-R', '--no-sync']);
    server.wasPrimary = false;
    this.record({ type: 'fault', fault: 'rebuild', detail: `${server.id} rebuilt: its data removed and copied again from ${this.primaryId} (pg_basebackup)` });
    await this.launch(server);
  }

  private async rewind(server: Server): Promise<void> {
    const primary = this.server(this.leader()!);
    // pg_rewind reads the source's timeline from its control file, which a promoted standby
    // updates only at its next checkpoint (the pg_rewind manual says to run one first).
    const client = await this.connect(primary, false);
    try {
      await client.query('CHECKPOINT');
    } finally {
      await client.end().catch(() => undefined);
    }
    const oldTimeline = timelineOf(server.data);
    const switchpoint = oldTimeline === null ? null : switchpointOf(primary.data, oldTimeline);
    // Before pg_rewind removes them: the commits the old primary wrote after the switch point.
    const commits = oldTimeline !== null && switchpoint !== null ? await this.commitsAfter(server, oldTimeline, switchpoint) : [];
    // pg_rewind first finishes a crashed target's recovery in single-user mode, which refuses standby mode.
    rmSync(join(server.data, 'standby.signal'), { force: true });
    const output = await this.tool('pg_rewind', ['-D', server.data, '--source-server', `host=${server.link} port=5432 user=postgres dbname=postgres`]);
    writeFileSync(join(server.dir, 'pg_rewind.log'), output);
    this.own(join(server.dir, 'pg_rewind.log'));
    writeFileSync(join(server.data, 'standby.signal'), '');
    this.own(join(server.data, 'standby.signal'));
    server.wasPrimary = false;
    const diverged = /servers diverged at WAL location ([0-9A-F]+)\/([0-9A-F]+) on timeline (\d+)/.exec(output);
    const record = diverged === null ? null : { lsn: lsnFromParts(diverged[1]!, diverged[2]!), timeline: Number(diverged[3]) };
    if (record === null) return; // "no rewind required": nothing was removed.
    const removed = new Set(commits.filter((c) => c.lsn >= record.lsn).map((c) => c.xid));
    const writes: RolledBackWrite[] = [];
    for (const [key, ack] of this.acks) {
      const [node, timeline, xid] = key.split('/');
      if (node === server.id && Number(timeline) === record.timeline && removed.has(xid!)) writes.push({ index: ack.index, term: ack.term, kind: 'sql', sql: ack.sql });
    }
    const lostNow = this.lost.rolledBack(server.id, writes);
    if (lostNow.length > 0) this.record({ type: 'writes-lost', node: server.id, writes: lostNow, rollbackPath: join(server.dir, 'pg_rewind.log') });
  }

  /** The COMMIT records in a stopped server's WAL on `timeline` from `from` on (pg_waldump), with their transaction ids. */
  private async commitsAfter(server: Server, timeline: number, from: number): Promise<{ xid: string; lsn: number }[]> {
    const start = `${Math.floor(from / 2 ** 32).toString(16).toUpperCase()}/${(from % 2 ** 32).toString(16).toUpperCase()}`;
    // pg_waldump ends with an error at the end of the WAL it has: its output up to there is what counts.
    const result = await runTool(this.pgBin, 'pg_waldump', ['-p', join(server.data, 'pg_wal'), '-t', String(timeline), '-s', start, '-r', 'Transaction'], {
      user: this.user,
      cwd: this.dataDir,
      timeoutMs: toolTimeoutMs,
      ...this.toolWatch(),
    });
    writeFileSync(join(server.dir, 'pg_waldump.log'), `${result.stdout}${result.stderr}`);
    const commits: { xid: string; lsn: number }[] = [];
    for (const line of result.stdout.split('\n')) {
      const match = /tx:\s+(\d+), lsn: ([0-9A-F]+)\/([0-9A-F]+),.*desc: COMMIT/.exec(line);
      if (match !== null) commits.push({ xid: match[1]!, lsn: lsnFromParts(match[2]!, match[3]!) });
    }
    return commits;
  }

  /** SIGSTOP of the postmaster and every child (backends, walsender, walreceiver): the server freezes. */
  pause(id: NodeId): void {
    this.checkRunning();
    const server = this.server(id);
    const pid = server.child?.pid;
    if (pid === undefined || server.paused) return;
    server.known = signalServer(pid, 'SIGSTOP');
    server.paused = true;
    this.record({ type: 'fault', fault: 'pause', detail: `${id} paused (SIGSTOP of the postmaster and its children)` });
  }

  resume(id: NodeId): void {
    this.checkRunning();
    const server = this.server(id);
    const pid = server.child?.pid;
    if (pid === undefined || !server.paused) return;
    signalServer(pid, 'SIGCONT');
    server.paused = false;
    this.record({ type: 'fault', fault: 'resume', detail: `${id} resumed (SIGCONT)` });
  }

  private enforceLinks(): void {
    for (const server of this.servers.values()) server.proxy?.enforce();
  }

  /** Cuts every link between the groups: the replication connections across them end and new ones are refused. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    this.checkRunning();
    for (const group of groups) for (const id of group) this.server(id);
    this.links.partition(groups);
    this.enforceLinks();
    this.record({ type: 'fault', fault: 'partition', detail: groups.map((g) => g.join(' ')).join(' | ') });
  }

  /** Delay (and jitter) holds chunks of one direction; loss ends the connection (proxy.ts). Duplication is refused. */
  setLink(from: NodeId, to: NodeId, options: LinkOptions): void {
    this.checkRunning();
    this.server(from);
    this.server(to);
    const problem = linkOptionsProblem(options);
    if (problem !== null) throw new BadRequestError(problem);
    if ((options.duplicate ?? 0) > 0) throw new BadRequestError('duplication has no meaning on a replication connection (a byte stream): it is refused on the postgres engine');
    this.links.setLink(from, to, options);
    this.enforceLinks();
    this.record({ type: 'fault', fault: 'link', detail: `${from} -> ${to}: ${JSON.stringify(this.links.link(from, to))}` });
  }

  /** A one-way cut: a replication connection needs both ways, so it ends and is refused as a two-way cut would be. */
  cut(from: NodeId, to: NodeId): void {
    this.checkRunning();
    this.server(from);
    this.server(to);
    if (from === to) throw new BadRequestError(`a node has no link to itself (${from})`);
    this.links.cutOneWay(from, to);
    this.enforceLinks();
    this.record({ type: 'fault', fault: 'cut', detail: `${from} -> ${to} cut (the replication connection between them ends both ways)` });
  }

  heal(): void {
    this.checkRunning();
    this.links.heal();
    this.enforceLinks();
    this.record({ type: 'fault', fault: 'heal', detail: 'every link restored (standbys reconnect within wal_retrieve_retry_interval)' });
  }

  /** Acknowledged writes a rewind removed, each confirmed by its COMMIT record in the rewound WAL (bounded). */
  lostWrites(): readonly LostWrite[] {
    return this.lost.list();
  }

  // -------------------------------------------------------------------------
  // Stopping

  /** Stops every server (immediate shutdown, SIGKILL of it and its children after 3 s) and proxy; removes a temporary data dir. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    await this.workload.stop();
    if (this.pollTimer !== null) clearInterval(this.pollTimer);
    const exits: Promise<void>[] = [];
    for (const server of this.servers.values()) {
      const pid = server.child?.pid;
      if (pid === undefined) continue;
      server.expectingExit = true;
      this.closeConnections(server);
      if (server.paused) signalServer(pid, 'SIGCONT');
      const pids = [pid, ...childPids(pid)];
      server.known = pids;
      // SIGQUIT: PostgreSQL's immediate shutdown (no shutdown checkpoint: a cluster is never resumed
      // from its dir, and a kept dir's next start would just run crash recovery); SIGKILL of everything after 3 s.
      process.kill(pid, 'SIGQUIT');
      const forced = setTimeout(() => signalServer(pid, 'SIGKILL'), 3_000);
      exits.push(
        (server.exited ?? Promise.resolve()).then(async () => {
          clearTimeout(forced);
          await waitGone(pids, 5_000);
        }),
      );
    }
    await Promise.all(exits);
    await Promise.all([...this.servers.values()].map((server) => server.proxy?.close()));
    this.watchdog.kill('SIGKILL');
    await this.watchdog;
    // Thousands of small files: removed without blocking the event loop (a dashboard may still draw).
    if (this.removeDataDir) await rm(this.dataDir, { recursive: true, force: true, maxRetries: 3 });
  }

  private checkRunning(): void {
    if (this.stopping !== null) throw new UnavailableError('the cluster has been stopped', null, 'stopped');
  }

  private server(id: NodeId): Server {
    const server = this.servers.get(id);
    if (server === undefined) throw new BadRequestError(`no node ${String(id)}; nodes are ${this.ids.join(', ')}`);
    return server;
  }

  /** The server's log file (tests, the dashboard's log view). */
  logPath(id: NodeId): string {
    return this.server(id).log;
  }

  /** The postmaster pids of the running servers. */
  postmasterPids(): number[] {
    return [...this.servers.values()].flatMap((server) => (server.child?.pid === undefined ? [] : [server.child.pid]));
  }

  /** The history's clock (as the replica-lab engine's workload: performance.now()). */
  mono(): number {
    return performance.now();
  }
}

// The compiler checks that the engine has every shared member with the Cluster's signatures.
// on/off are left out of the whole-type check: in `Pick<Cluster, 'on' | 'off'>` EventEmitter's
// `this` return type becomes `Cluster`, which no other class can be; they are checked by their
// parameters below (engine.ts could declare them as returning `unknown`).
const _check: ReplicationEngine = null as unknown as PostgresCluster;
void _check;
type Holds<T extends true> = T;
export type OnOffCheck = Holds<PostgresCluster['on'] extends (name: 'event', listener: (event: ClusterEvent) => void) => unknown ? true : false> &
  Holds<PostgresCluster['off'] extends (name: 'event', listener: (event: ClusterEvent) => void) => unknown ? true : false>;

export function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  return PostgresCluster.start(options);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

/**
 * A pool's connection within `ms`. One that arrives after the deadline goes
 * back to the pool: left checked out it would have no listener for its
 * connection's errors, and the server's end (a kill, stop()) would be an
 * uncaught 'error' event — seen as a crash of the dashboard on quit while
 * sync commits waited and requests queued for connections.
 */
/**
 * The pool's connection within `ms`. One that arrives after the deadline is
 * released and closed: left checked out it would leak, and its connection's
 * end would be an 'error' with no listener (the process would exit).
 */
export function connectWithin<C extends { release(destroy?: boolean): void; on?(event: 'error', listener: () => void): unknown }>(connecting: Promise<C>, ms: number): Promise<C> {
  return withTimeout(connecting, ms).catch((error: unknown) => {
    void connecting.then(
      (late) => {
        late.on?.('error', () => undefined);
        late.release(true);
      },
      () => undefined,
    );
    throw error;
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection within ${Math.round(ms)} ms`)), Math.max(1, ms));
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolvePromise(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Waits until every one of `pids` has ended; SIGKILLs the postgres ones left at the deadline. */
async function waitGone(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (pids.some(isAlive) && performance.now() < deadline) await sleep(10);
  for (const pid of pids) if (isPostgres(pid)) process.kill(pid, 'SIGKILL');
}

/** Whether `pid` is still a postgres process (guards against a reused pid; Linux /proc, else just alive). */
function isPostgres(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('postgres');
  } catch {
    return !existsSync('/proc/self');
  }
}

function lsnFromParts(high: string, low: string): number {
  return Number.parseInt(high, 16) * 2 ** 32 + Number.parseInt(low, 16);
}

/** The timeline of a stopped server's newest WAL segment (its file name's first 8 hex digits). */
function timelineOf(data: string): number | null {
  try {
    const segments = readdirSync(join(data, 'pg_wal')).filter((name) => /^[0-9A-F]{24}$/.test(name));
    if (segments.length === 0) return null;
    return Math.max(...segments.map((name) => Number.parseInt(name.slice(0, 8), 16)));
  } catch {
    return null;
  }
}

/** Where `timeline` ended in the primary's history: the switch point its timeline history files record. */
function switchpointOf(primaryData: string, timeline: number): number | null {
  try {
    for (const name of readdirSync(join(primaryData, 'pg_wal')).filter((n) => /^[0-9A-F]{8}\.history$/.test(n))) {
      for (const line of readFileSync(join(primaryData, 'pg_wal', name), 'utf8').split('\n')) {
        const match = /^(\d+)\s+([0-9A-F]+)\/([0-9A-F]+)/.exec(line.trim());
        if (match !== null && Number(match[1]) === timeline) return lsnFromParts(match[2]!, match[3]!);
      }
    }
  } catch {
    // No history: the rewind finds out itself.
  }
  return null;
}
