// `--engine` and `--pg-bin` as a person types them: a bad value, a flag the
// engine has no use for, or an engine this build lacks is one line on stderr
// and exit 2, before any process starts or any directory is made.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadEngine, parseEngineFlags, postgresOptions } from '../../cli/engine.js';
import { labEngine } from '../../cli/commands/lab.js';
import { UsageError } from '../../cli/errors.js';
import { assertBuilt, runCli } from './run-cli.js';
import { catalog, labEngineRefusal, labEngines, labs, labsOn } from '../../labs/catalog/index.js';

beforeAll(() => assertBuilt());

let state: string;
beforeEach(() => {
  state = mkdtempSync(join(tmpdir(), 'replica-lab-engine-cli-'));
});
afterEach(() => rmSync(state, { recursive: true, force: true }));
const run = (args: readonly string[]) => runCli(args, { XDG_STATE_HOME: state });

/** Whether this build has the PostgreSQL engine (cluster/postgres): without it, `--engine postgres` must say so. */
const postgresBuilt = existsSync(fileURLToPath(new URL('../../dist/cluster/postgres/index.js', import.meta.url)));
const notBuilt = 'replica-lab: the PostgreSQL engine is not built in this version of replica-lab; run with --engine replica-lab (the default)\n';

function expectUsage(args: readonly string[], stderr: string | RegExp): void {
  const result = run(args);
  expect(result.status, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  if (typeof stderr === 'string') expect(result.stderr).toBe(stderr);
  else expect(result.stderr).toMatch(stderr);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
}

describe('--engine', () => {
  it.each([[[]], [['nemesis']], [['bench', 'throughput']], [['lab', 'first-steps', '--auto']], [['labs']]])('%j refuses a value that is no engine', (args) => {
    expectUsage([...args, '--engine', 'mysql'], /^replica-lab: --engine must be one of replica-lab, postgres, got 'mysql'; see 'replica-lab( \w+)? --help'\n$/);
  });

  it('nemesis --engine postgres refuses a fault PostgreSQL has no counterpart for (or says the engine is not built) before it makes the run dir', () => {
    expectUsage(
      ['nemesis', '--duration', '1', '--data-dir', join(state, 'run'), '--engine', 'postgres', '--faults', 'kill,clock'],
      /^replica-lab: (the PostgreSQL engine is not built|the clock fault needs the replica-lab engine: PostgreSQL has no election timers or leases to slow)/,
    );
    expect(readdirSync(state)).toEqual([]);
  });

  it('refuses the replica-lab-only dashboard flags with another engine', () => {
    expectUsage(['--engine', 'postgres', '--unsafe', 'allow-nondeterministic'], "replica-lab: --unsafe needs the replica-lab engine; it has no PostgreSQL counterpart; see 'replica-lab --help'\n");
    expectUsage(['--engine', 'postgres', '--no-check-quorum'], "replica-lab: --no-check-quorum needs the replica-lab engine; it has no PostgreSQL counterpart; see 'replica-lab --help'\n");
  });

  it('bench: only throughput runs on another engine', () => {
    expectUsage(['bench', 'failover', '--engine', 'postgres'], /^replica-lab: --engine postgres applies only to bench throughput \(failover measures replica-lab's own Raft processes\)/);
    expectUsage(['bench', 'all', '--engine', 'postgres'], /applies only to bench throughput/);
  });
});

describe('--pg-bin', () => {
  it('applies only with --engine postgres', () => {
    expectUsage(['--pg-bin', tmpdir()], /^replica-lab: --pg-bin applies only to --engine postgres/);
    expectUsage(['nemesis', '--pg-bin', tmpdir()], /^replica-lab: --pg-bin applies only to --engine postgres .*; see 'replica-lab nemesis --help'\n$/);
  });

  it('must be a directory', () => {
    const missing = join(state, 'no-such-dir');
    expectUsage(['--engine', 'postgres', '--pg-bin', missing], new RegExp(`^replica-lab: --pg-bin ${missing} is not a directory; give the dir holding initdb, pg_ctl and postgres`));
  });

});

describe.skipIf(postgresBuilt)('--engine postgres in a build without the PostgreSQL engine', () => {
  it.each([[[]], [['bench', 'throughput', '--duration', '1']], [['nemesis', '--duration', '1']]])('%j says the engine is not built here, and starts nothing', (args) => {
    expectUsage([...args, '--engine', 'postgres'], notBuilt);
    // No bench run dir was made (it defaults to $XDG_STATE_HOME/replica-lab/bench).
    expect(readdirSync(state)).toEqual([]);
  });

  it('with a --pg-bin directory, gets as far as loading the engine', () => {
    expectUsage(['bench', 'throughput', '--engine', 'postgres', '--pg-bin', state], notBuilt);
  });
});

describe('labs on an engine', () => {
  // Data-driven: which labs run on PostgreSQL grows as labs get a PostgreSQL variant.
  const notOnPostgres = labs.find((lab) => !labEngines(lab).includes('postgres'))!;
  const postgresOnly = labs.find((lab) => !labEngines(lab).includes('replica-lab'));

  it('lab <id> --engine postgres on a lab that does not run there: one line, exit 2, no cluster', () => {
    expectUsage(['lab', notOnPostgres.id, '--auto', '--engine', 'postgres'], `replica-lab: ${labEngineRefusal(notOnPostgres, 'postgres')}; run it with --engine replica-lab\n`);
    expectUsage(['lab', 'figure-8', '--auto', '--engine', 'postgres'], /^replica-lab: lab figure-8 does not run on the PostgreSQL engine/);
  });

  it.skipIf(postgresOnly === undefined)('a PostgreSQL-only lab asked for on the replica-lab engine: one line, exit 2, no cluster', () => {
    expectUsage(['lab', postgresOnly!.id, '--auto', '--engine', 'replica-lab'], new RegExp(`^replica-lab: lab ${postgresOnly!.id} does not run on the replica-lab engine \\(it runs on PostgreSQL\\); .*; run it with --engine postgres\n$`));
  });

  it('without --engine a lab that runs on one other engine only runs there; an engine asked for is kept', () => {
    const pgOnly = { engines: ['postgres'] as const };
    expect(labEngine(pgOnly, { kind: 'replica-lab' }, false)).toEqual({ kind: 'postgres' });
    expect(labEngine(pgOnly, { kind: 'replica-lab' }, true)).toEqual({ kind: 'replica-lab' });
    expect(labEngine({ engines: ['replica-lab', 'postgres'] }, { kind: 'replica-lab' }, false)).toEqual({ kind: 'replica-lab' });
    expect(labEngine({}, { kind: 'replica-lab' }, false)).toEqual({ kind: 'replica-lab' });
    expect(labEngine(pgOnly, { kind: 'postgres', pgBin: '/opt/pg' }, true)).toEqual({ kind: 'postgres', pgBin: '/opt/pg' });
  });

  it('labs --engine lists only the labs offered there, and says so when there is none', () => {
    const offered = labsOn('postgres').map((lab) => lab.id);
    const listed = run(['labs', '--engine', 'postgres']);
    expect(listed.status).toBe(0);
    if (offered.length === 0) expect(listed.stdout).toBe("No lab runs on the PostgreSQL engine in this version; 'replica-lab labs' lists them all (each runs on replica-lab).\n");
    expect((JSON.parse(run(['labs', '--engine', 'postgres', '--json']).stdout) as { id: string }[]).map((lab) => lab.id)).toEqual(offered);
    expect(offered).toEqual(expect.arrayContaining(['first-steps', 'async-lost-writes', 'sync-cost', 'quorum-commit', 'split-brain', 'lag-anomalies', 'ack-levels', 'pg-sync-cancel']));
    const all = JSON.parse(run(['labs', '--json']).stdout) as { id: string; engines: string[] }[];
    const onPostgres = JSON.parse(run(['labs', '--engine', 'postgres', '--json']).stdout) as { id: string }[];
    expect(onPostgres.map((lab) => lab.id)).toEqual(all.filter((lab) => lab.engines.includes('postgres')).map((lab) => lab.id));
    expect(listed.stdout).toContain('first-steps');
    expect(listed.stdout).not.toContain('raft-election');
    const onReplicaLab = JSON.parse(run(['labs', '--engine', 'replica-lab', '--json']).stdout) as { id: string }[];
    expect(onReplicaLab.map((lab) => lab.id)).toEqual(all.filter((lab) => lab.engines.includes('replica-lab')).map((lab) => lab.id));
    for (const lab of all) expect(lab.engines).toEqual(labEngines(catalog.find((entry) => entry.id === lab.id)!));
  });
});

describe('the PostgreSQL engine\'s start options', () => {
  it('take the replica-lab options that have a PostgreSQL meaning, and only those', () => {
    expect(postgresOptions({ nodes: 5, dataDir: '/tmp/x', replication: { mode: 'sync', ackLevel: 'applied' }, seed: 7, failover: 'raft', fsync: false, checkQuorum: false }, '/usr/lib/postgresql/15/bin')).toEqual({
      nodes: 5,
      dataDir: '/tmp/x',
      pgBin: '/usr/lib/postgresql/15/bin',
      mode: 'sync',
      ack: 'applied',
      seed: 7,
      failover: 'auto',
    });
    expect(postgresOptions({ replication: { mode: 'sync', syncStandbys: ['n2'] } }, undefined)).toMatchObject({ mode: 'sync', replication: { syncStandbys: ['n2'] } });
    expect(postgresOptions({ failover: 'manual', fencing: false }, undefined)).toMatchObject({ failover: 'manual', fencing: false });
    expect(postgresOptions({ replication: { mode: 'quorum', quorum: 3 } }, undefined).replication).toEqual({ quorum: 3 });
    expect(postgresOptions({ replication: { syncStandbys: ['n2'], quorum: null } }, undefined).replication).toEqual({ syncStandbys: ['n2'] });
    expect(postgresOptions({ failover: 'raft', fencing: false }, undefined)).toMatchObject({ failover: 'auto', fencing: false });
    const defaults = postgresOptions({}, undefined);
    expect(defaults).toMatchObject({ nodes: 3, mode: 'quorum', ack: 'flushed', failover: 'manual' });
    expect(Object.keys(defaults).sort()).toEqual(['ack', 'failover', 'mode', 'nodes', 'seed']);
  });

  it('--pg-bin is made absolute', () => {
    expect(parseEngineFlags({ engine: 'postgres', pgBin: '.' }, undefined)).toEqual({ kind: 'postgres', pgBin: process.cwd() });
    expect(parseEngineFlags({ engine: 'replica-lab' }, undefined)).toEqual({ kind: 'replica-lab' });
  });
});

describe('loadEngine with a stand-in for cluster/postgres', () => {
  const postgres = { kind: 'postgres' as const, pgBin: '/opt/pg/bin' };

  it('starts the engine with the mapped options', async () => {
    const calls: unknown[] = [];
    const start = await loadEngine(postgres, 'bench', async () => ({
      startPostgresCluster: async (options: unknown) => {
        calls.push(options);
        return { engine: 'postgres' };
      },
    }));
    await expect(start({ nodes: 3, replication: { mode: 'async' }, seed: 4 })).resolves.toEqual({ engine: 'postgres' });
    expect(calls).toEqual([{ nodes: 3, pgBin: '/opt/pg/bin', mode: 'async', ack: 'flushed', seed: 4, failover: 'manual' }]);
  });

  it('turns the engine\'s own exit-2 error (no binaries: how to install them) into a usage error, and leaves others as they are', async () => {
    const missing = Object.assign(new Error('no PostgreSQL server binaries found; install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`)'), { exitCode: 2 });
    const start = await loadEngine(postgres, 'lab', async () => ({ startPostgresCluster: async () => Promise.reject(missing) }));
    const refused = await start({}).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UsageError);
    expect(refused).toMatchObject({ message: missing.message, command: 'lab', seeHelp: false });
    const broken = new Error('initdb failed');
    const failing = await loadEngine(postgres, 'lab', async () => ({ startPostgresCluster: async () => Promise.reject(broken) }));
    await expect(failing({})).rejects.toBe(broken);
  });

  it('says "not built" only when the engine module itself is missing or has no start', async () => {
    await expect(loadEngine(postgres, undefined, async () => ({}))).rejects.toThrow(/PostgreSQL engine is not built/);
    const nested = Object.assign(new Error("Cannot find package 'pg' imported from /x/dist/cluster/postgres/server.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadEngine(postgres, undefined, async () => Promise.reject(nested))).rejects.toBe(nested);
    const index = fileURLToPath(new URL('../../cluster/postgres/index.js', import.meta.url));
    const fromIndex = Object.assign(new Error(`Cannot find module '/x/cluster/postgres/cluster.js' imported from ${index}`), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadEngine(postgres, undefined, async () => Promise.reject(fromIndex))).rejects.toBe(fromIndex);
    const itself = Object.assign(new Error(`Cannot find module '${index}' imported from /x/cli/engine.js`), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadEngine(postgres, undefined, async () => Promise.reject(itself))).rejects.toThrow(/PostgreSQL engine is not built/);
  });
});
