import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fields of package.json the CLI shows. */
export type PackageInfo = { readonly name: string; readonly version: string; readonly description: string };

const packageName = 'replica-lab';
/** dist/cli/ is two levels below the package root; a few more levels cover running from source. */
const searchDepthMax = 5;

/**
 * Reads our own package.json at run time, found by walking up from this file,
 * so `--version` is right from the repo (cli/ or dist/cli/) and from an
 * installed tarball (node_modules/replica-lab/dist/cli/) without copying the
 * version into the build.
 */
export function readPackageInfo(): PackageInfo {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth <= searchDepthMax; depth += 1) {
    const info = readIfOurs(join(directory, 'package.json'));
    if (info !== undefined) return info;
    const parent = dirname(directory);
    if (parent === directory) break;
    directory = parent;
  }
  throw new Error(`cannot find the package.json of ${packageName} above ${fileURLToPath(import.meta.url)}`);
}

function readIfOurs(path: string): PackageInfo | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const json: unknown = JSON.parse(text);
  if (typeof json !== 'object' || json === null) return undefined;
  const { name, version, description } = json as Record<string, unknown>;
  if (name !== packageName || typeof version !== 'string') return undefined;
  return { name, version, description: typeof description === 'string' ? description : '' };
}
