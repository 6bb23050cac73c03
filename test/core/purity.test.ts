// The core is a pure, deterministic state machine (DESIGN.md "The core"):
// the same inputs give the same Ready sequence, and it imports nothing outside
// cluster/core.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Network } from './harness.js';

const coreDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../cluster/core');

/** A busy run: randomized elections, writes, a partition, a transfer, reads. */
function transcript(seed: number): string {
  const net = new Network({ size: 5, config: { seed } });
  net.tick(net.ids, 30);
  for (let i = 0; i < 5; i++) {
    const [leader] = net.leaders();
    if (leader !== undefined) net.propose(leader, `w${i}`);
    net.tick(net.ids, 3);
  }
  net.partition(['n1', 'n2'], ['n3', 'n4', 'n5']);
  net.tick(net.ids, 40);
  for (const leader of net.leaders()) net.propose(leader, 'during-partition');
  net.recover();
  net.tick(net.ids, 30);
  const [leader] = net.leaders();
  if (leader !== undefined) {
    net.core(leader).readIndex(1);
    net.core(leader).transferLeadership(net.ids.find((id) => id !== leader) ?? '');
  }
  net.tick(net.ids, 20);
  return JSON.stringify(net.ids.map((id) => net.host(id).readies));
}

describe('determinism', () => {
  it('the same config, seed and inputs give identical Ready sequences', () => {
    const first = transcript(7);
    expect(first.length).toBeGreaterThan(10_000);
    expect(transcript(7)).toBe(first);
  });

  it('the seed is what varies a run: another seed draws other election timeouts', () => {
    expect(transcript(8)).not.toBe(transcript(7));
  });
});

describe('purity', () => {
  const files = readdirSync(coreDir).filter((name) => name.endsWith('.ts'));

  it('the core imports nothing outside cluster/core', () => {
    expect(files).toContain('raft.ts');
    for (const name of files) {
      const source = readFileSync(join(coreDir, name), 'utf8');
      const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
      for (const specifier of specifiers) {
        expect(specifier, `${name} imports ${specifier}`).toMatch(/^\.\/[\w.-]+\.js$/);
        const target = resolve(coreDir, specifier.replace(/\.js$/, '.ts'));
        expect(relative(coreDir, dirname(target)), `${name} imports ${specifier}`).toBe('');
        expect(existsSync(target), `${name} imports ${specifier}`).toBe(true);
      }
      expect(source, name).not.toMatch(/\brequire\s*\(/);
    }
  });

  it('the core reads no clock, timer or ambient randomness', () => {
    for (const name of files) {
      const source = readFileSync(join(coreDir, name), 'utf8');
      expect(source, name).not.toMatch(/Math\.random|Date\.now|new Date\b|performance\.now|setTimeout|setInterval|process\./);
    }
  });
});
