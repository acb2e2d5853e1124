/**
 * The application PCR: PCR16, extended once at start-up with the SHA-384 of the speech engine's model files and the
 * service configuration, then locked. PCR0..2 say which enclave image runs; PCR16 says which model it loaded, so a
 * client policy can pin the model too (`"pcrs": {"16": "…"}`), e.g. a Whisper model file mounted or swapped without
 * rebuilding the image. The same value is reported by the simulation, so the path is tested end to end.
 *
 *   measurement = SHA-384( canonical JSON of {engine, model, version} ‖ 0 ‖ for each model file in path order:
 *                          its path relative to its root ‖ 0 ‖ its bytes ‖ 0 )
 *   PCR16       = SHA-384( 48 zero bytes ‖ measurement )      (one NSM extension of a fresh PCR)
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MODEL_DIR } from './engine/pocketsphinx/addon.js';

/** The PCR this server measures its engine into (16..31 are the application's). */
export const APPLICATION_PCR = 16;

/** What PCR16 measures. */
export interface ApplicationConfig {
  readonly engine: string;
  readonly model: string;
  readonly version: string;
  /** Model files or directories (whose files are all measured, recursively). */
  readonly modelPaths: readonly string[];
}

/** The model files an engine loads: PocketSphinx's model directory, or the Whisper model file the server was told of. */
export function engineModelPaths(engine: string, whisperModelFile?: string): string[] {
  if (engine === 'pocketsphinx') return [DEFAULT_MODEL_DIR];
  // whisper's server arguments follow from the file's header (whisperServerArgs), so measuring the file covers them.
  if ((engine === 'whisper' || engine === 'whisper-http') && whisperModelFile !== undefined) return [whisperModelFile];
  return [];
}

/** The measurement extended into PCR16 (streamed: a Whisper model is gigabytes). */
export async function measureApplication(config: ApplicationConfig): Promise<Uint8Array> {
  const hash = createHash('sha384');
  hash.update(JSON.stringify({ engine: config.engine, model: config.model, version: config.version })).update('\0');
  for (const root of config.modelPaths) {
    for (const file of await filesUnder(root)) {
      hash.update(path.relative(path.dirname(root), file).split(path.sep).join('/')).update('\0');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      hash.update('\0');
    }
  }
  return new Uint8Array(hash.digest());
}

/** The value PCR16 holds after one extension with `measurement`: what a policy pins. */
export function applicationPcrValue(measurement: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha384').update(new Uint8Array(48)).update(measurement).digest());
}

async function filesUnder(root: string): Promise<string[]> {
  if (!(await stat(root)).isDirectory()) return [root];
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort();
}
