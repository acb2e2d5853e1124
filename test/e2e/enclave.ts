/**
 * The reference server as the end-to-end tests run it: `blindbox serve --simulate` (a separate process) with the
 * PocketSphinx engine, its simulation root written to a file, and its PCR0.
 */
import path from 'node:path';
import { ROOT, spawnGroup, type SpawnedGroup } from './harness.js';

export const CLI = path.join(ROOT, 'out/src/cli/main.js');

/** The reference server as its CLI runs it. */
export interface Enclave {
  readonly proc: SpawnedGroup;
  readonly url: string;
  readonly rootPem: string;
  readonly pcr0: string;
}

/** Starts the server, on `port` when given (a restart at the same URL), else on any free port. */
export async function startEnclave(dir: string, options: { port?: number } = {}): Promise<Enclave> {
  const rootPem = path.join(dir, 'simulation-root.pem');
  const port = options.port === undefined ? [] : ['--port', String(options.port)];
  const proc = spawnGroup(process.execPath, [CLI, 'serve', '--simulate', '--engine', 'pocketsphinx', '--trust-out', rootPem, ...port], { cwd: dir });
  const listening = await proc.waitFor(/^listening (https:\/\/127\.0\.0\.1:\d+)$/m, 60_000, 'the server listening').catch(async (err: unknown) => {
    await proc.stop();
    throw err;
  });
  const pcr0 = (await proc.waitFor(/PCR0 ([0-9a-f]{96})/, 5000, 'PCR0'))[1]!;
  return { proc, url: listening[1]!, rootPem, pcr0 };
}

/** Lines of the server's request log for transcription uploads (`[enclave] POST /v1/audio/... <status>`). */
export function uploads(enclave: Enclave): string[] {
  return enclave.proc.output.split('\n').filter((l) => /POST \/v1\/audio\//.test(l));
}

/** Lines of the server's request log for attestation documents (`[enclave] GET /attestation <status>`). */
export function attestations(enclave: Enclave): string[] {
  return enclave.proc.output.split('\n').filter((l) => /GET \/attestation\b/.test(l));
}
