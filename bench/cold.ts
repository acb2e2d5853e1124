/**
 * Cold start, run by bench/run.ts in a fresh Node process: the time from before the core is imported to after the
 * first verification of one document at its own timestamp. Nothing of the core is loaded before the clock starts
 * (the document is read first, so file I/O is not counted). Prints one JSON line.
 *
 *   node out/bench/cold.js <document.cbor> <timestamp-ms>
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [path, timestamp] = process.argv.slice(2);
if (!path || !timestamp) {
  process.stderr.write('usage: node out/bench/cold.js <document.cbor> <timestamp-ms>\n');
  process.exit(2);
}
const bytes = readFileSync(path);
const now = new Date(Number(timestamp));

const start = performance.now();
const core = await import('../src/core/index.js');
const imported = performance.now();
const verified = core.verifyAttestation(bytes, { now });
const end = performance.now();
// A second verification of the same document in the same process (caches now warm), for comparison.
const again = performance.now();
core.verifyAttestation(bytes, { now });
const againEnd = performance.now();

process.stdout.write(
  JSON.stringify({
    moduleId: verified.moduleId,
    importMs: imported - start,
    firstVerifyMs: end - imported,
    totalMs: end - start,
    secondVerifyMs: againEnd - again,
    /** performance.now() counts from process start: Node's own boot plus the above. */
    sinceProcessStartMs: end,
  }) + '\n',
);
