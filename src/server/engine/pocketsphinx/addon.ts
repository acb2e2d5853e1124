/**
 * Loads the PocketSphinx addon (built by scripts/build-native.sh) and names the model files it needs.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.js';
import type { RawSegments } from './words.js';

/** One loaded model and its search state; decodes one utterance per call, blocking the calling thread. */
export interface NativeDecoder {
  /** Recognises 16 kHz mono s16 samples as one utterance. */
  decode(pcm: Int16Array): { readonly hyp: string; readonly segments: RawSegments };
  /**
   * Puts back the adaptive state (noise estimate, live CMN, AGC) the decoder had fresh from its model. Utterances
   * in between adapt to one another, as they should within one recording.
   */
  reset(): void;
}

interface Addon {
  readonly Decoder: new (hmm: string, lm: string, dict: string) => NativeDecoder;
  readonly trimMemory: () => boolean;
}

/** Debian's pocketsphinx-en-us package puts the US English model here. */
export const DEFAULT_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

/** What the attested `user_data` says about this engine's model. */
export const MODEL_NAME = 'cmusphinx en-us (pocketsphinx 5prealpha)';

/** Where node-gyp leaves the addon: the server package's git-ignored build/ (its binding.gyp is at the package root). */
export const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'pocketsphinx.node');

function loadAddon(): Addon {
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (err) {
    throw new Error(`The PocketSphinx addon is not built (${ADDON_PATH}): run bash scripts/setup-system.sh && bash scripts/build-native.sh`, { cause: err });
  }
}

/**
 * glibc's `malloc_trim(0)`: gives the free memory of every malloc arena (each thread's) back to the system; whether
 * any was. False, doing nothing, where the C library is not glibc.
 */
export function trimMemory(): boolean {
  return loadAddon().trimMemory();
}

/** Loads the model in `modelDir` (the acoustic model, the language model and the dictionary). Takes about a second. */
export function loadDecoder(modelDir: string = DEFAULT_MODEL_DIR): NativeDecoder {
  const addon = loadAddon();
  return new addon.Decoder(path.join(modelDir, 'en-us'), path.join(modelDir, 'en-us.lm.bin'), path.join(modelDir, 'cmudict-en-us.dict'));
}
