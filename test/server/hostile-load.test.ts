/**
 * The whole reference server under a bounded hostile load (`test/helpers/hostile-load.ts`: malformed targets, broken
 * chunks, early disconnects, aborted uploads, slow-loris headers and bodies, oversized headers, WAV chunk bombs, idle
 * handshakes; decoder amplifiers: 655,350 Hz 8-channel FLAC and chained Opus; storage fillers and slow uploads holding
 * every slot, against a 64 MiB upload budget; idle connections from 8 addresses filling the connection cap, an
 * attestation flood) for 60 s, while a legitimate user transcribes a flite sentence every few seconds. Afterwards the
 * server must be alive, hold what it held before, and stop promptly on SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, it } from 'node:test';
import { loadRootFile, type TrustedRoot } from '../../src/core/index.js';
import { startServe, type ServeProcess } from '../../support/cli.js';
import { transcribeText } from '../../support/servers.js';
import { hostileLoad } from '../../support/hostile-load.js';
import { openFds, settle, uploadDirs } from '../helpers/process-stats.js';
import { SCRIPT, scratchDir, speak, wordErrorRate } from '../../support/speech.js';

const LOAD_MS = 60_000;
const LEGIT_EVERY_MS = 4_000;

let serve: ServeProcess;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let serverTmp: string;
let roots: TrustedRoot[];
let wav: string;

before(async () => {
  scratch = await scratchDir();
  serverTmp = await mkdtemp(path.join(tmpdir(), 'blindbox-load-tmp-'));
  wav = await speak(scratch.dir, 'rms', SCRIPT.rms[1]!, 'legit');
  const rootFile = path.join(scratch.dir, 'root.pem');
  serve = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1', '--upload-budget-mb', '64', '--trust-out', rootFile], { TMPDIR: serverTmp });
  roots = await loadRootFile(rootFile);
});

after(async () => {
  await serve?.stop('SIGKILL');
  await scratch?.dispose();
  if (serverTmp) await rm(serverTmp, { recursive: true, force: true });
});

const transcribeOnce = () => transcribeText(serve.url, roots, wav);

it('serves every legitimate transcription through 60 s of hostile load, then holds what it held before and stops on SIGTERM', async (t) => {
  const reference = await transcribeOnce();
  assert.ok(wordErrorRate(SCRIPT.rms[1]!, reference).rate <= 0.25, `the unloaded transcript: ${reference}`);
  await new Promise((r) => setTimeout(r, 6_000)); // the keep-alive connection lapses: the resting state
  const pid = serve.child.pid!;
  const restingFds = (await openFds(pid)).length;

  const load = hostileLoad({ url: serve.url, durationMs: LOAD_MS });
  const outcomes: string[] = [];
  const deadline = Date.now() + LOAD_MS;
  while (Date.now() < deadline) {
    const started = Date.now();
    outcomes.push(await transcribeOnce().catch((err: Error) => `FAILED ${(err as { code?: string }).code ?? ''} ${err.message}`));
    await new Promise((r) => setTimeout(r, Math.max(0, LEGIT_EVERY_MS - (Date.now() - started))));
  }
  const counts = await load;
  t.diagnostic(`attacks: ${JSON.stringify(counts)}`);
  t.diagnostic(`legitimate transcriptions: ${outcomes.length}${outcomes.filter((o) => o !== reference).map((o) => `; ${o}`).join('')}`);

  // Every legitimate transcription must succeed; the count only shows the load did not lock the user out (how much
  // slower it made them is bench/hostile.ts's p95 ratio, not an assertion on a shared machine).
  assert.ok(outcomes.length >= 4, `${outcomes.length} legitimate transcriptions ran`);
  for (const [i, text] of outcomes.entries()) assert.equal(text, reference, `legitimate transcription ${i + 1}`);
  assert.ok(Object.values(counts).every((n) => n > 0), 'every kind of attack was made');
  assert.equal(serve.child.exitCode, null, 'the server process is alive');

  const left = await settle(
    async () => ({ fds: (await openFds(pid)).length, uploads: await uploadDirs(serverTmp) }),
    (v) => v.fds <= restingFds && v.uploads.length === 0,
    10_000,
  );
  t.diagnostic(`descriptors: ${restingFds} at rest, ${left.fds} 10 s after the load`);
  assert.ok(left.fds <= restingFds, `descriptors back to ${restingFds} within 10 s: ${left.fds}`);
  assert.deepEqual(left.uploads, [], 'no upload directory is left');

  const stopping = Date.now();
  assert.equal(await serve.stop('SIGTERM'), 0);
  const seconds = (Date.now() - stopping) / 1000;
  t.diagnostic(`SIGTERM: stopped in ${seconds.toFixed(1)} s`);
  assert.ok(seconds < 15, `stopped in ${seconds.toFixed(1)} s`);
});
