// Finding the PostgreSQL server binaries: an explicit dir (`--pg-bin`), then
// `pg_config --bindir`, then the Debian layout (/usr/lib/postgresql/<v>/bin,
// highest version first), then Homebrew's. A dir counts only when it holds
// every program the engine runs.

import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The programs the engine runs; a bin dir must hold them all. */
export const pgPrograms = ['postgres', 'initdb', 'pg_ctl', 'pg_basebackup', 'pg_rewind', 'pg_waldump'] as const;

/** No usable PostgreSQL binaries: the CLI turns this into exit status 2. */
export class PostgresNotFoundError extends Error {
  override name = 'PostgresNotFoundError';
  /** The exit status a command should end with. */
  readonly exitCode = 2;
  constructor(
    message: string,
    /** Every dir looked at, and why each was not taken. */
    readonly tried: readonly string[],
  ) {
    super(message);
  }
}

const installHint = 'install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql@16`) or name the dir with --pg-bin';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The programs missing from `dir` (empty: it is usable). */
export function missingPrograms(dir: string): string[] {
  return pgPrograms.filter((program) => !executable(join(dir, program)));
}

/** Numeric version order for dirs named by version ("9.6" < "15" < "16"). */
function versionKey(name: string): number[] {
  return name.split('.').map((part) => Number.parseInt(part, 10) || 0);
}

function byVersionDescending(a: string, b: string): number {
  const [x, y] = [versionKey(a), versionKey(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (y[i] ?? 0) - (x[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The candidate dirs, in the order they are tried. */
export function candidateBinDirs(): string[] {
  const dirs: string[] = [];
  try {
    const out = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }).trim();
    if (out !== '') dirs.push(out);
  } catch {
    // No pg_config on PATH.
  }
  // Debian/Ubuntu: one dir per installed major version.
  for (const version of listDir('/usr/lib/postgresql').sort(byVersionDescending)) dirs.push(join('/usr/lib/postgresql', version, 'bin'));
  // Homebrew (Apple silicon, then Intel): versioned formulae, then the unversioned one.
  for (const prefix of ['/opt/homebrew', '/usr/local']) {
    const versioned = listDir(join(prefix, 'opt'))
      .filter((name) => /^postgresql@\d+(\.\d+)?$/.test(name))
      .sort((a, b) => byVersionDescending(a.slice('postgresql@'.length), b.slice('postgresql@'.length)));
    for (const name of versioned) dirs.push(join(prefix, 'opt', name, 'bin'));
    dirs.push(join(prefix, 'opt', 'postgresql', 'bin'));
  }
  return [...new Set(dirs)];
}

/**
 * The dir of the server binaries. `explicit` (the --pg-bin option) is the only
 * one tried when given: a wrong dir is an error, not a silent fallback.
 */
export function findPgBin(explicit?: string): string {
  if (explicit !== undefined) {
    const missing = missingPrograms(explicit);
    if (missing.length === 0) return explicit;
    throw new PostgresNotFoundError(`--pg-bin ${explicit} lacks ${missing.join(', ')}; ${installHint}`, [`${explicit}: lacks ${missing.join(', ')}`]);
  }
  const tried: string[] = [];
  for (const dir of candidateBinDirs()) {
    const missing = missingPrograms(dir);
    if (missing.length === 0) return dir;
    tried.push(`${dir}: lacks ${missing.join(', ')}`);
  }
  throw new PostgresNotFoundError(`no PostgreSQL server binaries found (looked at pg_config --bindir, /usr/lib/postgresql/*/bin and Homebrew's paths); ${installHint}`, tried);
}
