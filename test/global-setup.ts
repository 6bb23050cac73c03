import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Empty when `npm run build` succeeded; otherwise its output, for the tests of the built bin to report. */
    buildFailure: string;
  }
}

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Builds dist/ once per run, so the tests of the built bin (test/cli) never run
 * against a stale or missing build. tsc takes a second or two; a failure does not
 * stop the run, it is handed to the tests that need dist/ so only they fail.
 */
export default function setup(project: TestProject): void {
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: projectRoot, encoding: 'utf8' });
  const failed = result.status !== 0 || result.error !== undefined;
  const output = `${result.error?.message ?? ''}${result.stdout ?? ''}${result.stderr ?? ''}`;
  project.provide('buildFailure', failed ? `npm run build failed (status ${result.status}):\n${output}` : '');
}
