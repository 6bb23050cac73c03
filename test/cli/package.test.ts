import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, packageVersion, projectRoot } from './run-cli.js';

/** npm pack, then npm install from the registry for commander: slow next to the rest, so given room. */
const packageTestTimeoutMs = 180_000;

type PackResult = { readonly filename: string; readonly files: readonly { readonly path: string }[] };

/**
 * The environment for a nested npm: without the variables `npm test` sets for
 * this project, which would point the nested npm back at this package.
 */
function nestedNpmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    const ours =
      lower.startsWith('npm_package_') ||
      lower.startsWith('npm_lifecycle_') ||
      lower === 'npm_command' ||
      lower === 'npm_config_local_prefix' ||
      lower === 'npm_config_loglevel';
    if (!ours) env[key] = value;
  }
  return env;
}

function npm(args: readonly string[], cwd: string): string {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', env: nestedNpmEnv(), timeout: packageTestTimeoutMs });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (status ${result.status}):\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

describe('the published package', { timeout: packageTestTimeoutMs }, () => {
  let workDirectory = '';
  let packed: PackResult = { filename: '', files: [] };

  beforeAll(() => {
    assertBuilt();
    workDirectory = mkdtempSync(join(tmpdir(), 'replica-lab-pack-'));
    // The global setup has just built dist/; --ignore-scripts skips `prepare` building it again.
    const output = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', workDirectory], projectRoot);
    const results = JSON.parse(output) as PackResult[];
    expect(results).toHaveLength(1);
    packed = results[0] ?? packed;
  }, packageTestTimeoutMs);

  afterAll(() => {
    if (workDirectory !== '') rmSync(workDirectory, { recursive: true, force: true });
  });

  it('holds the compiled bin, the cluster API and the README', () => {
    const paths = packed.files.map((file) => file.path);
    expect(packed.filename).toBe(`replica-lab-${packageVersion()}.tgz`);
    expect(paths).toContain('package.json');
    expect(paths).toContain('README.md');
    expect(paths).toContain('dist/cli/main.js');
    expect(paths.some((path) => path.startsWith('dist/cluster/') && path.endsWith('.js'))).toBe(true);
  });

  it('holds no tests, sources, source maps, tsconfig or CI script', () => {
    const unwanted = packed.files
      .map((file) => file.path)
      .filter(
        (path) =>
          path.startsWith('test/') ||
          path.startsWith('dist/test/') ||
          (path.endsWith('.ts') && !path.endsWith('.d.ts')) ||
          path.endsWith('.map') ||
          path.includes('tsconfig') ||
          path.startsWith('.ci/') ||
          path.startsWith('node_modules/'),
      );
    expect(unwanted).toEqual([]);
  });

  // Installing compiles better-sqlite3 from source (no prebuilt binaries here): about a minute, more under load.
  it('installs into an empty project and runs as `replica-lab`', { timeout: packageTestTimeoutMs }, () => {
    const app = join(workDirectory, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'pack-smoke', private: true }));
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(workDirectory, packed.filename)], app);

    // Run the bin through npm's shim, as a user's shell would: this checks the shebang and the exec bit.
    const bin = join(app, 'node_modules', '.bin', 'replica-lab');
    const help = spawnSync(bin, ['--help'], { cwd: app, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: replica-lab/);
    const version = spawnSync(bin, ['--version'], { cwd: app, encoding: 'utf8' });
    expect(version).toMatchObject({ status: 0, stdout: `${packageVersion()}\n`, stderr: '' });
    const bad = spawnSync(bin, ['--bogus'], { cwd: app, encoding: 'utf8' });
    expect(bad).toMatchObject({ status: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^replica-lab: unknown option '--bogus'/);

    const sim = spawnSync(bin, ['sim', '--seeds', '1..10', '--json'], { cwd: app, encoding: 'utf8' });
    expect(sim.status).toBe(0);
    expect(JSON.parse(sim.stdout)).toMatchObject({ seeds: 10, violations: [] });

    // The package's main entry, as a user's project imports it: a real 3-node cluster from the installed tarball.
    writeFileSync(
      join(app, 'use.mjs'),
      `import { Cluster } from 'replica-lab';
const cluster = await Cluster.start({ nodes: 3, fsync: false });
try {
  const leader = await cluster.waitForLeader({ timeoutMs: 5000 });
  const write = await cluster.execute('INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index())', ['a', '1']);
  const read = await cluster.query('SELECT v FROM kv WHERE k = ?', ['a'], { consistency: 'linearizable' });
  console.log(JSON.stringify({ leader, index: write.index, rows: read.rows }));
} finally {
  await cluster.stop();
}
`,
    );
    const use = spawnSync(process.execPath, ['use.mjs'], { cwd: app, encoding: 'utf8', timeout: 30_000 });
    expect(use.stderr).toBe('');
    expect(use.status).toBe(0);
    expect(JSON.parse(use.stdout)).toMatchObject({ rows: [{ v: '1' }] });
  });
});
