import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const builtMain = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** What a person at a terminal sees from one run of the CLI. */
export type CliRun = { readonly status: number | null; readonly stdout: string; readonly stderr: string };

/** Fails the calling suite with tsc's output when test/global-setup.ts could not build dist/. */
export function assertBuilt(): void {
  const failure = inject('buildFailure');
  if (failure !== '') throw new Error(failure);
}

/** Runs the built bin as `node dist/cli/main.js …`, the way the installed shim does. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const result = spawnSync(process.execPath, [builtMain, ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The version in our package.json, read independently of the code under test. */
export function packageVersion(): string {
  const json = JSON.parse(readFileSync(`${projectRoot}/package.json`, 'utf8')) as { version: string };
  return json.version;
}
