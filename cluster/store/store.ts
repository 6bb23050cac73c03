// The SQLite state machine of one node: it applies log entries, each in one
// transaction with the applied index, answers read-only queries, digests its
// state for divergence checks, and rebuilds itself when entries are rolled back.

import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Entry } from '../core/index.js';
import { unboundedProblem } from './bounds.js';
import { checksumSteps, computeChecksum } from './checksum.js';
import { queryBytesMax, queryRowsMax, statementCacheMax, statePageBytes } from './constants.js';
import { assert, MalformedEntryError, StatementError } from './errors.js';
import { dropUserObjects, pendingRollbacks, removeRollbackFiles, writeRollbackFile, type RollbackRecord } from './rollback.js';
import { initialize, kvTableSql, registerLogIndex } from './schema.js';
import { EnvironmentError, failure, isEnvironmentError, isStatementFailure, queryError } from './sqlite-errors.js';
import { memoizeText } from './memo.js';
import { checkStatementText, statementTraits, type RuleOptions } from './sql-rules.js';
import { readSchemaObjects, rowBoundProblem, type SchemaObject } from './row-bound.js';
import { prepareRowidCheck, RowidAtMaxError, type AtMax } from './rowid-guard.js';
import { bindable, decodeStatement, normalizeParams, type SqlParam } from './statement.js';
import type { ApplyResult, QueryResult, RollbackOptions, SqlValue, StoreOptions } from './types.js';

/** Whether any schema object's SQL mentions FAIL: conservative (a name or a string counts too). */
function schemaNamesFail(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE sql LIKE '%fail%' LIMIT 1").get() !== undefined;
}

/**
 * Thrown inside the apply transaction when a statement run without a
 * SAVEPOINT left a table at the largest rowid: the whole batch is rolled
 * back and applied again with every statement in a SAVEPOINT (see applyBatch).
 */
class RowidRetry extends Error {}

/** The bytes a row's values take in an answer: strings as UTF-8, blobs as they are, 8 for a number, 0 for null. */
function valueBytes(row: readonly SqlValue[]): number {
  let bytes = 0;
  for (const value of row) {
    if (typeof value === 'string') bytes += Buffer.byteLength(value, 'utf8');
    else if (value instanceof Uint8Array) bytes += value.length;
    else if (value !== null) bytes += 8;
  }
  return bytes;
}

interface Position {
  readonly index: number;
  readonly term: number;
}

export class Store {
  /** The leader's check before it proposes a write; see validate.ts. */

  /**
   * Opens (creating if needed) `<dir>/state.db` in WAL journal mode with
   * synchronous=NORMAL: a commit is atomic (state and applied index move
   * together) but not fsynced. The node's own WAL is what makes a write
   * durable; after a power cut state.db may be a few entries behind it, and the
   * node re-applies them from the log on start.
   */
  static open(options: StoreOptions): Store {
    mkdirSync(options.dir, { recursive: true });
    const db = new Database(join(options.dir, 'state.db'));
    try {
      // 1 KiB pages (SQLite's default is 4 KiB), for a new file only: a write changes a few rows on a few pages, and
      // each changed page is a frame in SQLite's WAL, written again at the checkpoint with its fsyncs, on this thread.
      // Measured over 15,000 single-entry applies of the bench's upsert: 26.4 -> 19.5 µs each on average, the longest
      // (a checkpoint) 2.7 -> 1.2 ms. An existing file keeps the size it was made with.
      db.pragma(`page_size = ${statePageBytes}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      assert(mode === 'wal', `journal_mode is ${String(mode)}, not wal`);
      db.pragma('synchronous = NORMAL');
      initialize(db);
      return new Store(options.dir, db, new Database(db.name, { readonly: true, fileMustExist: true }), { allowNondeterministic: options.allowNondeterministic === true });
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** The index of the entry being applied, for log_index(); null outside apply. */
  private applyingIndex: number | null = null;
  private position: Position;
  private checksumCache: { readonly index: number; readonly digest: string } | null = null;
  /** True when a table or trigger declares FAIL (ON CONFLICT FAIL, RAISE(FAIL)): then every statement runs in a SAVEPOINT. */
  private schemaMayFailPartway: boolean;
  /** Every statement in a SAVEPOINT: while a batch is applied again after a RowidRetry, and during a rebuild. */
  private careful = false;
  /** Finds a rowid table holding the largest rowid (see rowid-guard.ts); undefined until prepared for the current schema. */
  private rowidCheck: Database.Statement | null | undefined = undefined;
  /** The tables and views the join bound reads (row-bound.ts), loaded on first need; dropped when the schema may have changed. */
  private schemaObjects: Map<string, SchemaObject> | null = null;
  /** The connection checksumInBackground reads its snapshot through, opened on first use. */
  private snapshotReader: Database.Database | null = null;
  private background: Promise<{ index: number; digest: string } | null> | null = null;
  /** The steps of the background checksum in progress, ended on close so no row iterator stays open. */
  private backgroundSteps: Generator<void, string, void> | null = null;
  /** A prepared statement for `sql`, from a small cache (memo.ts): the workload repeats a few statements. */
  private readonly prepared = memoizeText((sql: string): Database.Statement => this.db.prepare(sql), statementCacheMax);
  private readonly applyTransaction: Database.Transaction<(entries: readonly Entry[]) => ApplyResult[]>;
  private readonly rebuildTransaction: Database.Transaction<(log: readonly Entry[], rollbackFile: string | null) => void>;
  /** Nested inside the apply transaction, so it runs in a SAVEPOINT: a failure undoes only the statement. */
  private readonly runCarefully: Database.Transaction<(sql: string, params: readonly SqlParam[]) => Database.RunResult>;
  private readonly selectPosition: Database.Statement<[], Position>;
  private readonly updatePosition: Database.Statement<[number, number]>;
  /** Records a request id unless the client's stored one is as high: no change means a duplicate. */
  private readonly recordRequest: Database.Statement<[string, number]>;
  private readonly selectRollback: Database.Statement<[string]>;
  private readonly recordRollbackDone: Database.Statement<[string]>;

  private constructor(
    readonly dir: string,
    /** The connection that applies entries. */
    private readonly db: Database.Database,
    /** A read-only connection for query(): SQLite itself refuses a write there. */
    private readonly reader: Database.Database,
    /** The statement rules applied entries follow (the unsafe option). */
    private readonly rules: RuleOptions = {},
  ) {
    registerLogIndex(db, () => this.applyingIndex);
    registerLogIndex(reader, () => null);
    this.applyTransaction = db.transaction((entries: readonly Entry[]) => this.applyInTransaction(entries));
    this.rebuildTransaction = db.transaction((log: readonly Entry[], rollbackFile: string | null) => this.rebuildInTransaction(log, rollbackFile));
    this.runCarefully = db.transaction((sql: string, params: readonly SqlParam[]) => {
      const info = this.prepared(sql).run(...bindable(params));
      const found = this.tableAtRowidMax();
      if (found !== undefined) throw new RowidAtMaxError(found); // rolls the SAVEPOINT back: the statement is undone
      return info;
    });
    this.selectPosition = db.prepare('SELECT applied_index AS "index", applied_term AS term FROM _replica_state');
    this.updatePosition = db.prepare('UPDATE _replica_state SET applied_index = ?, applied_term = ?');
    this.recordRequest = db.prepare(
      'INSERT INTO _replica_requests (client, request) VALUES (?, ?) ON CONFLICT (client) DO UPDATE SET request = excluded.request WHERE excluded.request > _replica_requests.request',
    );
    this.selectRollback = db.prepare('SELECT 1 FROM _replica_rollbacks WHERE file = ?');
    this.recordRollbackDone = db.prepare('INSERT INTO _replica_rollbacks (file) VALUES (?)');
    this.position = this.readPosition();
    this.schemaMayFailPartway = schemaNamesFail(db);
  }

  appliedIndex(): number {
    return this.position.index;
  }

  appliedTerm(): number {
    return this.position.term;
  }

  /**
   * Applies the next entry in one transaction with the applied index. A
   * statement that fails (a constraint, a missing table, a rule of
   * checkStatementText) is undone and reported, and the index still advances:
   * it fails the same way on every replica, so it must not stop the node.
   */
  apply(entry: Entry): ApplyResult {
    const [result] = this.applyBatch([entry]);
    assert(result !== undefined, 'one result per entry');
    return result;
  }

  /**
   * Applies consecutive entries in one transaction (group commit: one fsync for
   * the batch), with a result per entry; each behaves as apply() would. The
   * applied index moves to the last entry, or, on an error that crashes the
   * node, stays where it was for the whole batch.
   */
  applyBatch(entries: readonly Entry[]): ApplyResult[] {
    assert(this.db.open, 'apply on a closed store');
    const last = entries.at(-1);
    if (last === undefined) return [];
    let results: ApplyResult[];
    try {
      try {
        results = this.applyTransaction.immediate(entries);
      } catch (error) {
        if (!(error instanceof RowidRetry)) throw error;
        // Rare: rolled back whole; again with a SAVEPOINT per statement, so the one that reached the largest rowid is undone alone.
        this.afterRollback();
        this.careful = true;
        try {
          results = this.applyTransaction.immediate(entries);
        } finally {
          this.careful = false;
        }
      }
    } catch (error) {
      this.afterRollback();
      if (isEnvironmentError(error)) throw new EnvironmentError(entries[0]!.index, last.index, error.code, error);
      throw error;
    }
    this.position = { index: last.index, term: last.term };
    return results;
  }

  /** Runs one read-only statement on this node's state as it is now (a 'local' read). */
  query(sql: string, params: readonly unknown[] = []): QueryResult {
    assert(this.reader.open, 'query on a closed store');
    if (typeof sql !== 'string') throw new StatementError('syntax', 'the statement must be a string of SQL');
    const normalized = normalizeParams(params);
    if (normalized instanceof StatementError) throw normalized;
    const unbounded = unboundedProblem(sql, normalized) ?? this.joinBoundProblem(sql, this.reader);
    if (unbounded !== null) throw unbounded;
    try {
      const statement = this.reader.prepare(sql);
      if (!statement.readonly) {
        throw new StatementError('not-read-only', 'query() only reads, and this statement writes: send it with execute(), so the leader logs it and every node applies it');
      }
      if (!statement.reader) throw new StatementError('forbidden', 'query() runs a statement that returns rows (SELECT, VALUES, …); this one returns none');
      const columns = statement.columns().map((column) => column.name);
      const rows: SqlValue[][] = [];
      let truncated = false;
      let bytes = 0;
      for (const row of statement.raw(true).iterate(...bindable(normalized)) as IterableIterator<SqlValue[]>) {
        const rowBytes = valueBytes(row);
        if (rows.length === queryRowsMax || bytes + rowBytes > queryBytesMax) {
          if (rows.length === 0) throw new StatementError('too-large', `the first row of the answer holds ${rowBytes} bytes, over the limit of ${queryBytesMax} bytes (queryBytesMax); select less of it, e.g. substr() or length()`);
          truncated = true;
          break;
        }
        bytes += rowBytes;
        rows.push(row);
      }
      return { columns, rows, truncated };
    } catch (error) {
      throw queryError(error);
    }
  }

  /** A sha256 hex digest of the state at the applied index; see checksum.ts for what it covers. */
  checksum(): string {
    assert(this.db.open, 'checksum on a closed store');
    if (this.checksumCache?.index !== this.position.index) {
      const digest = this.db.transaction(() => computeChecksum(this.db))();
      this.checksumCache = { index: this.position.index, digest };
    }
    return this.checksumCache.digest;
  }

  /**
   * The checksum of the state as it is now, computed without blocking: a
   * read-only connection of its own holds a snapshot (a WAL read transaction)
   * and hashes it in steps of ~1,000 rows, one per event-loop turn, while
   * entries keep applying on the main connection. For a 10,000-row state a
   * blocking checksum stalled the node ~12-20 ms. Resolves to null when the
   * store closes first; one runs at a time (a second call shares it).
   */
  checksumInBackground(): Promise<{ index: number; digest: string } | null> {
    assert(this.db.open, 'checksum on a closed store');
    this.background ??= this.runBackgroundChecksum().finally(() => {
      this.background = null;
    });
    return this.background;
  }

  private async runBackgroundChecksum(): Promise<{ index: number; digest: string } | null> {
    if (this.snapshotReader === null) {
      this.snapshotReader = new Database(this.db.name, { readonly: true, fileMustExist: true });
      // One pass over every row gains nothing from a page cache; keep it small (the default is 2 MB).
      this.snapshotReader.pragma('cache_size = -256');
      registerLogIndex(this.snapshotReader, () => null);
    }
    const snapshot = this.snapshotReader;
    snapshot.exec('BEGIN');
    const steps = checksumSteps(snapshot);
    this.backgroundSteps = steps;
    try {
      const position = snapshot.prepare('SELECT applied_index AS "index" FROM _replica_state').get() as { index: number };
      for (;;) {
        const step = steps.next();
        if (step.done === true) return { index: position.index, digest: step.value };
        await new Promise((resolve) => setImmediate(resolve));
        if (!snapshot.open) return null;
      }
    } finally {
      this.backgroundSteps = null;
      if (snapshot.open && snapshot.inTransaction) snapshot.exec('COMMIT');
    }
  }

  /**
   * Undoes `undone` (highest index first, as Ready.rollback gives them) in
   * two steps, recordRollback then completeRollback, and returns the rollback
   * file's path. A host calls the two itself, truncating its log in between.
   */
  rollbackAndRebuild(options: RollbackOptions): string {
    const lowest = options.undone.at(-1);
    assert(lowest === undefined || options.log.length === lowest.index - 1, `replaying ${options.log.length} entries before undone entry ${lowest?.index}`);
    const record = this.recordRollback(options.undone, options.now ?? new Date());
    this.completeRollback(record, options.log);
    return record.path;
  }

  /**
   * The first step of a rollback: writes `undone` durably (file and directory
   * fsynced) to `<dir>/rollback/<time>-<from>-<to>.jsonl`, before anything
   * forgets them. Call it before the log is truncated: a crash then never
   * loses the record of what was rolled back (see finishInterruptedRollback).
   */
  recordRollback(undone: readonly Entry[], now: Date = new Date()): RollbackRecord {
    assert(this.db.open, 'rollback on a closed store');
    const last = undone[0];
    assert(last !== undefined, 'a rollback without entries to undo');
    assert(last.index === this.position.index && last.term === this.position.term, `undo starts at ${last.index}/${last.term}, but ${this.position.index}/${this.position.term} is applied`);
    undone.forEach((entry, i) => assert(entry.index === last.index - i, `undone entries descend one by one; found ${entry.index} at ${i}`));
    const ascending = [...undone].reverse();
    const path = writeRollbackFile(this.dir, ascending, now);
    return { path, name: basename(path), entries: ascending.map(({ index, term }) => ({ index, term })) };
  }

  /**
   * The second step: in one transaction, drops every user object, clears the
   * dedupe table, replays `log` (entries 1..n, where n + 1 is the lowest
   * undone index) and records `record` as done in `_replica_rollbacks`.
   */
  completeRollback(record: RollbackRecord, log: readonly Entry[]): void {
    const lowest = record.entries[0];
    assert(lowest !== undefined && log.length === lowest.index - 1, `replaying ${log.length} entries before undone entry ${lowest?.index}`);
    this.rebuild(log, record);
  }

  /**
   * Settles, on start, a rollback a crash interrupted between its two steps,
   * given the log the WAL recovered. Its file is one not recorded as done
   * whose last entry is the applied one. When the log no longer holds the
   * applied entry (the truncation happened), the undo is completed from the
   * file, which is returned. When it still does, the crash came before the
   * truncation: nothing was undone, so the file is removed (the leader asks
   * again, and the rollback is then written afresh, once). Null when there
   * was none, or nothing to complete.
   */
  finishInterruptedRollback(log: readonly Entry[]): RollbackRecord | null {
    const pending = this.pendingRollbacks().sort((a, b) => a.entries[0]!.index - b.entries[0]!.index);
    const [record] = pending;
    if (record === undefined) return null;
    const { index, term } = this.position;
    const inLog = index <= log.length && log[index - 1]!.term === term;
    const keep = record.entries[0]!.index - 1;
    if (inLog || keep > log.length) {
      removeRollbackFiles(pending);
      return null;
    }
    removeRollbackFiles(pending.slice(1));
    this.completeRollback(record, log.slice(0, keep));
    return record;
  }

  private pendingRollbacks(): RollbackRecord[] {
    return pendingRollbacks(this.dir, this.position, (name) => this.selectRollback.get(name) !== undefined);
  }

  /**
   * Rebuilds the state from `log` (entries 1..n) in one transaction. Without
   * `record` it writes down nothing: for a node whose state.db has applied
   * entries that its repaired WAL no longer holds, with no rollback file
   * (nothing is left to write down). With one, the file is recorded as done.
   */
  rebuild(log: readonly Entry[], record?: RollbackRecord): void {
    assert(this.db.open, 'rebuild on a closed store');
    log.forEach((entry, i) => assert(entry.index === i + 1, `log entry ${entry.index} at position ${i}: the log replays from index 1`));
    try {
      this.rebuildTransaction.immediate(log, record?.name ?? null);
    } finally {
      this.position = this.readPosition();
      this.checksumCache = null;
    }
  }

  close(): void {
    this.backgroundSteps?.return('');
    if (this.snapshotReader?.open === true) this.snapshotReader.close();
    if (this.reader.open) this.reader.close();
    if (this.db.open) this.db.close();
  }

  private readPosition(): Position {
    const row = this.selectPosition.get();
    assert(row !== undefined, '_replica_state has no row');
    return row;
  }

  private rebuildInTransaction(log: readonly Entry[], rollbackFile: string | null): void {
    if (rollbackFile !== null) this.recordRollbackDone.run(rollbackFile);
    dropUserObjects(this.db);
    this.afterSchemaChange();
    this.db.exec('DELETE FROM _replica_requests');
    this.db.exec(kvTableSql);
    this.updatePosition.run(0, 0);
    // A rebuild is rare and cannot be retried on its own: every statement in a SAVEPOINT.
    const careful = this.careful;
    this.careful = true;
    try {
      this.applyInTransaction(log, { index: 0, term: 0 });
    } finally {
      this.careful = careful;
    }
  }

  /**
   * The join bound in this store's state (row-bound.ts): null, or why the
   * statement's joins could walk more row combinations than the budget. The
   * leader asks it before it proposes a write, for an early error; apply asks
   * again and is authoritative (every replica holds the same state there).
   */
  joinBound(sql: string): string | null {
    if (!this.db.open) return null; // closing or reopening: apply decides
    return this.joinBoundProblem(sql, this.db)?.message ?? null;
  }

  private joinBoundProblem(sql: string, db: Database.Database): StatementError | null {
    try {
      return rowBoundProblem(sql, db, () => (this.schemaObjects ??= readSchemaObjects(db)));
    } catch (error) {
      if (isEnvironmentError(error)) throw error;
      if (error instanceof Database.SqliteError) return null; // the size query failed as the statement will: leave it to SQLite, alike on every node
      // A fault of the analysis itself (it depends only on the text and the schema, so it is alike on every
      // node): refuse the statement rather than throw at apply, which would stop every node, and stop them
      // again each time the log is replayed.
      return new StatementError('unbounded', `the rows this statement's joins can produce could not be bounded (${error instanceof Error ? error.message : String(error)}), so it is refused rather than run unbounded: a running statement cannot be interrupted`);
    }
  }

  /** The schema may have changed: the rowid check and the FAIL scan are redone. */
  private afterSchemaChange(): void {
    this.schemaObjects = null;
    this.rowidCheck = undefined;
    this.schemaMayFailPartway = schemaNamesFail(this.db);
  }

  /** A transaction rolled back: what was derived from the schema inside it may be gone. */
  private afterRollback(): void {
    this.applyingIndex = null;
    if (this.db.open && !this.db.inTransaction) this.afterSchemaChange();
  }

  /** A rowid table holding the largest rowid, or an AUTOINCREMENT counter at it, if one does (rowid-guard.ts). */
  private tableAtRowidMax(): AtMax | undefined {
    this.rowidCheck ??= prepareRowidCheck(this.db);
    const found = this.rowidCheck?.get() as { table: string; counter: number } | undefined;
    return found === undefined ? undefined : { table: found.table, counter: found.counter === 1 };
  }

  /**
   * Applies consecutive entries inside the caller's transaction, from the
   * applied position `from` (what _replica_state holds: this.position, which
   * moves only once a transaction commits). The position is written once at
   * the end: the whole batch commits or rolls back together, so per-entry
   * updates would only cost statements.
   */
  private applyInTransaction(entries: readonly Entry[], from: Position = this.position): ApplyResult[] {
    let position = from;
    const results = entries.map((entry) => {
      // Every entry passes here: the messages are built only when a check fails.
      if (entry.index !== position.index + 1) assert(false, `entry ${entry.index} arrived after applied index ${position.index}: entries apply in order`);
      if (entry.term < position.term) assert(false, `entry ${entry.index} has term ${entry.term}, below the applied term ${position.term}`);
      const result: ApplyResult = entry.kind === 'sql' ? this.applySql(entry) : { ok: true, duplicate: false, changes: 0, lastInsertRowid: 0 };
      position = { index: entry.index, term: entry.term };
      return result;
    });
    if (entries.length > 0) {
      const updated = this.updatePosition.run(position.index, position.term);
      assert(updated.changes === 1, '_replica_state has one row');
    }
    return results;
  }

  private applySql(entry: Entry): ApplyResult {
    if (entry.client !== undefined && entry.request !== undefined) {
      if (!Number.isSafeInteger(entry.request)) assert(false, `entry ${entry.index} has request id ${entry.request}`);
      // One statement finds and records it (a separate SELECT cost a statement per entry). Recorded even when
      // the statement fails below: a retry must not run it a second time.
      if (this.recordRequest.run(entry.client, entry.request).changes === 0) return { ok: true, duplicate: true, changes: 0, lastInsertRowid: 0 };
    }
    let statement;
    try {
      statement = decodeStatement(entry.data);
    } catch (error) {
      if (error instanceof MalformedEntryError) return failure('malformed-entry', error.message);
      throw error;
    }
    const problem = checkStatementText(statement.sql, statement.params, this.rules) ?? unboundedProblem(statement.sql, statement.params) ?? this.joinBoundProblem(statement.sql, this.db);
    if (problem !== null) return failure(problem.problem, problem.message);
    this.applyingIndex = entry.index;
    const traits = statementTraits(statement.sql);
    // The rowid check names the tables it reads: prepare it again for the schema this statement leaves.
    if (traits.changesSchema) this.rowidCheck = undefined;
    // A SAVEPOINT only where SQLite would not undo a failed statement by itself (FAIL), or while re-applying after a RowidRetry.
    const careful = this.careful || traits.mayFailPartway || this.schemaMayFailPartway;
    let info: Database.RunResult;
    try {
      if (careful) info = this.runCarefully(statement.sql, statement.params);
      else info = this.prepared(statement.sql).run(...bindable(statement.params));
    } catch (error) {
      if (isEnvironmentError(error)) throw error; // applyBatch says what it is; the transaction may be gone already
      assert(this.db.inTransaction, `entry ${entry.index} ended the apply transaction`);
      if (error instanceof RowidAtMaxError) return failure('non-deterministic', error.message);
      if (!isStatementFailure(error)) throw error;
      return failure(error instanceof Database.SqliteError ? error.code : 'params', error.message);
    } finally {
      this.applyingIndex = null;
      if (traits.changesSchema) this.afterSchemaChange();
    }
    // Without a SAVEPOINT the statement cannot be undone alone: the batch is applied again, carefully (applyBatch).
    if (!careful && this.tableAtRowidMax() !== undefined) throw new RowidRetry();
    return { ok: true, duplicate: false, changes: info.changes, lastInsertRowid: info.changes > 0 ? Number(info.lastInsertRowid) : 0 };
  }
}
