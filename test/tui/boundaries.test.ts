// tui/ draws and reads keys; it never starts a process. It may name the
// Cluster API's types, but imports nothing from cluster/ as a value (which
// would pull in execa and better-sqlite3), and nothing that spawns.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const tuiDir = fileURLToPath(new URL('../../tui', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|tsx)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every import or export-from statement, flattened to one line. */
function importStatements(text: string): string[] {
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'[^']+';/gms), ...text.matchAll(/import\(\s*'[^']+'\s*\)/g)].map((match) => match[0].replace(/\s+/g, ' '));
}

/** Cluster modules the TUI may take values from: leaves that import nothing but types (checked below). */
const leafModules = ['cluster/fault-limits.js', 'cluster/trace/format.js', 'cluster/snapshot/policy-limits.js', 'cluster/engine.js'];
const clusterRoot = fileURLToPath(new URL('../../', import.meta.url));

describe('the tui/ boundary', () => {
  it.each(leafModules)('%s, which the TUI imports values from, imports nothing but types', (module) => {
    const text = readFileSync(join(clusterRoot, module.replace(/\.js$/, '.ts')), 'utf8');
    for (const statement of importStatements(text)) expect(statement).toMatch(/^(import|export) type /);
  });

  const files = sources(tuiDir);

  it('has sources to check', () => {
    expect(files.length).toBeGreaterThan(10);
  });

  it.each(files.map((file) => [relative(tuiDir, file), file]))('%s imports no process machinery and no cluster value', (_name, file) => {
    const statements = importStatements(readFileSync(file, 'utf8'));
    for (const statement of statements) {
      expect(statement).not.toMatch(/'(execa|better-sqlite3|node:child_process|child_process|node:worker_threads)'/);
      const cluster = /from '(?:\.\.\/)+(cluster\/[^']+)'/.exec(statement);
      if (cluster !== null && !leafModules.includes(cluster[1]!)) expect(statement, 'cluster/ may only be imported as types').toMatch(/^(import|export) type /);
      // labs/ starts clusters: the lab panel names its state's types only (the CLI hands in the session).
      if (/from '(\.\.\/)+labs\//.test(statement)) expect(statement, 'labs/ may only be imported as types').toMatch(/^(import|export) type /);
    }
  });
});
