/**
 * The reference server as the end-to-end tests run it: `blindbox serve --simulate` (a separate process) with the
 * PocketSphinx engine when the CLI has it, its simulation root written to a file, and its PCR0.
 */
import path from 'node:path';
import { ROOT, spawnGroup, type SpawnedGroup } from './harness.js';

export const CLI = path.join(ROOT, 'out/src/cli/main.js');

/** The reference server as its CLI runs it; `enginePending` says why it runs without a speech engine. */
export interface Enclave {
  readonly proc: SpawnedGroup;
  readonly url: string;
  readonly rootPem: string;
  readonly pcr0: string;
  readonly enginePending: string | undefined;
}

export async function startEnclave(dir: string): Promise<Enclave> {
  const rootPem = path.join(dir, 'simulation-root.pem');
  const start = (extra: string[]) => spawnGroup(process.execPath, [CLI, 'serve', '--simulate', '--trust-out', rootPem, ...extra], { cwd: dir });
  let enginePending: string | undefined;
  let proc = start(['--engine', 'pocketsphinx']);
  let listening: RegExpMatchArray;
  try {
    listening = await proc.waitFor(/^listening (https:\/\/127\.0\.0\.1:\d+)$/m, 60_000, 'the server listening');
  } catch (err) {
    await proc.stop();
    // Only a CLI that does not know the --engine option at all makes the transcription step pending (reported as a
    // TODO); an engine that fails to start is a failure.
    if (proc.child.exitCode !== 2 || !/Unknown option '--engine'/.test(proc.output)) throw err;
    enginePending = proc.output.trim().split('\n')[0]!;
    proc = start([]);
    listening = await proc.waitFor(/^listening (https:\/\/127\.0\.0\.1:\d+)$/m, 60_000, 'the server listening');
  }
  const pcr0 = (await proc.waitFor(/PCR0 ([0-9a-f]{96})/, 5000, 'PCR0'))[1]!;
  return { proc, url: listening[1]!, rootPem, pcr0, enginePending };
}

/** Lines of the server's request log for transcription uploads (`[enclave] POST /v1/audio/... <status>`). */
export function uploads(enclave: Enclave): string[] {
  return enclave.proc.output.split('\n').filter((l) => /POST \/v1\/audio\//.test(l));
}

/** Lines of the server's request log for attestation documents (`[enclave] GET /attestation <status>`). */
export function attestations(enclave: Enclave): string[] {
  return enclave.proc.output.split('\n').filter((l) => /GET \/attestation\b/.test(l));
}
