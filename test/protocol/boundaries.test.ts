/**
 * Who may import whom, read from the sources: the protocol depends on nothing, the client (core, extension) never
 * reaches into the server, and the server never into the client's extension or CLI.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Every import specifier of every `.ts` module under src/<dir>, resolved to a path relative to src/ when relative. */
function importsOf(dir: string): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const rel of readdirSync(path.join(SRC, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const file = path.join(SRC, dir, rel);
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/gm)) {
      const spec = (m[1] ?? m[2])!;
      const target = spec.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep).join('/') : spec;
      found.push({ file: `${dir}/${rel}`, target });
    }
  }
  return found;
}

const offending = (dir: string, allowed: (target: string) => boolean) =>
  importsOf(dir)
    .filter((i) => !allowed(i.target))
    .map((i) => `${i.file} → ${i.target}`);

describe('module boundaries of the wire contract', () => {
  it('src/protocol imports nothing but itself', () => {
    assert.deepEqual(offending('protocol', (t) => t.startsWith('protocol/')), []);
  });

  it('the client (core, extension) never imports the server', () => {
    assert.deepEqual(offending('core', (t) => !t.startsWith('server/') && !t.startsWith('extension/') && !t.startsWith('cli/')), []);
    assert.deepEqual(offending('extension', (t) => !t.startsWith('server/') && !t.startsWith('cli/')), []);
  });

  it('the server never imports the extension or the CLI', () => {
    assert.deepEqual(offending('server', (t) => !t.startsWith('extension/') && !t.startsWith('cli/')), []);
    // The scan sees real imports (not a vacuous pass): the server does use the protocol and the core.
    const targets = importsOf('server').map((i) => i.target);
    assert.ok(targets.includes('protocol/endpoints.js') && targets.includes('core/attestation/cose.js'));
  });
});
