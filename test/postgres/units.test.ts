// The postgres engine's pure parts, which need no server: binary discovery's
// error, the SQL dialect and the knob mapping.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkPgReplication, classifyLogLine, describePg, findPgBin, numberPlaceholders, PostgresNotFoundError, toPg, translate } from '../../cluster/postgres/index.js';
import { defaultReplication } from '../../cluster/supervisor/settings.js';
import { workloadWriteSql } from '../../cluster/supervisor/index.js';

describe('postgres binaries', () => {
  it('refuses a --pg-bin dir without the server programs, saying how to install them, as exit status 2', () => {
    const empty = mkdtempSync(join(tmpdir(), 'rl-pgbin-'));
    try {
      let caught: unknown = null;
      try {
        findPgBin(empty);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(PostgresNotFoundError);
      const error = caught as PostgresNotFoundError;
      expect(error.exitCode).toBe(2);
      expect(error.message).toContain('apt-get install postgresql');
      expect(error.message).toContain('brew install postgresql@16');
      expect(error.message).toContain('initdb');
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('postgres dialect', () => {
  it('numbers ? placeholders outside strings, identifiers, comments and dollar-quoted bodies', () => {
    expect(numberPlaceholders("SELECT v FROM kv WHERE k = ? AND v <> '?' AND \"a?\" = ? -- ?\n/* ? */ AND x = $$?$$ AND y = ?")).toBe(
      "SELECT v FROM kv WHERE k = $1 AND v <> '?' AND \"a?\" = $2 -- ?\n/* ? */ AND x = $$?$$ AND y = $3",
    );
  });

  it("runs the workload's write as an upsert that hands back the idx it stored and its transaction id", () => {
    const { text, returnsIdx } = translate(workloadWriteSql);
    expect(returnsIdx).toBe(true);
    expect(text).toContain('ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = log_index()');
    expect(text).toContain('RETURNING idx, pg_current_xact_id()');
    expect(translate('INSERT INTO t VALUES (?)')).toEqual({ text: 'INSERT INTO t VALUES ($1)', returnsIdx: false });
  });
});

describe('postgres knob mapping', () => {
  const ids = ['n1', 'n2', 'n3'];
  const settings = (change: object) => checkPgReplication({ ...defaultReplication, ...change }, ids);

  it('maps modes and ack levels one to one', () => {
    expect(toPg(settings({ mode: 'async' }), ids, 'n1')).toEqual({ synchronousStandbyNames: '', synchronousCommit: 'on' });
    expect(toPg(settings({ mode: 'sync', ackLevel: 'received' }), ids, 'n1')).toEqual({ synchronousStandbyNames: 'FIRST 2 (n2, n3)', synchronousCommit: 'remote_write' });
    expect(toPg(settings({ mode: 'sync', syncStandbys: ['n3'] }), ids, 'n1')).toEqual({ synchronousStandbyNames: 'FIRST 1 (n3)', synchronousCommit: 'on' });
    // quorum counts the primary: a majority of 3 is the primary and ANY 1 standby.
    expect(toPg(settings({ mode: 'quorum', ackLevel: 'applied' }), ids, 'n1')).toEqual({ synchronousStandbyNames: 'ANY 1 (n2, n3)', synchronousCommit: 'remote_apply' });
    // After a promotion the list is the new primary's standbys.
    expect(toPg(settings({ mode: 'quorum', quorum: 3 }), ids, 'n2')).toEqual({ synchronousStandbyNames: 'ANY 2 (n1, n3)', synchronousCommit: 'on' });
  });

  it('says the PostgreSQL setting beside the replica-lab word', () => {
    expect(describePg(settings({ mode: 'quorum' }), ids, 'n1')).toBe('quorum · ANY 1 (n2, n3) | flushed · synchronous_commit = on');
    expect(describePg(settings({ mode: 'async', ackLevel: 'applied' }), ids, 'n1')).toBe("async · synchronous_standby_names = '' | applied · synchronous_commit = remote_apply");
  });

  it('refuses what PostgreSQL has no setting for', () => {
    expect(() => settings({ syncTimeoutMs: 50 })).toThrow(/no PostgreSQL setting/);
    expect(() => settings({ syncFallback: 'async' })).toThrow(/no PostgreSQL setting/);
    expect(() => settings({ quorum: 4 })).toThrow(/quorum/);
    expect(() => settings({ syncStandbys: ['n7'] })).toThrow(/no node n7/);
  });
});

describe('postgres server log', () => {
  it('recognises what the servers say of promotion, streaming and sync standbys, without the line prefix', () => {
    expect(classifyLogLine('2026-12-06 17:33:00.723 UTC [32237] LOG:  selected new timeline ID: 2')).toEqual({ kind: 'timeline-selected', text: 'LOG:  selected new timeline ID: 2' });
    expect(classifyLogLine('2026-12-06 17:33:00.723 UTC [1] LOG:  restarted WAL streaming at 0/4000000 on timeline 2')?.kind).toBe('streaming-started');
    expect(classifyLogLine('2026-12-06 17:33:00.723 UTC [1] LOG:  standby "n2" is now a candidate for quorum synchronous standby')?.kind).toBe('sync-standby');
    expect(classifyLogLine('2026-12-06 17:33:00.723 UTC [1] LOG:  checkpoint starting: time')).toBeNull();
  });
});
