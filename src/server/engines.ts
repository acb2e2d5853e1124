/** Picks and starts the speech engine a server was asked for (`serve --engine …`). */
import type { TranscriptionEngine } from './engine/engine.js';
import { createPocketSphinxEngine } from './engine/pocketsphinx/engine.js';
import { createWhisperEngine, type WhisperModel } from './engine/whisper/engine.js';
import type { EngineName } from './engine-names.js';

export { ENGINE_NAMES, type EngineName } from './engine-names.js';

export interface EngineChoice {
  readonly engine: EngineName;
  /** whisper-http: the OpenAI-compatible server inside the enclave. */
  readonly upstream?: URL;
  /** whisper-http: the model that server runs (its name is attested; an English-only one refuses other languages). */
  readonly whisperModel?: WhisperModel;
  /** pocketsphinx: worker threads. */
  readonly workers?: number;
  /** Audio at least this long (seconds) is split at pauses and decoded on all workers (or upstreams). */
  readonly splitSeconds?: number;
  /** Jobs that may wait for a worker. */
  readonly maxQueue?: number;
  /** whisper-http: longest one upstream request may take. */
  readonly timeoutMs?: number;
}

export async function startEngine(choice: EngineChoice): Promise<TranscriptionEngine> {
  switch (choice.engine) {
    case 'pocketsphinx':
      return createPocketSphinxEngine({ workers: choice.workers, maxQueue: choice.maxQueue, splitSeconds: choice.splitSeconds });
    case 'whisper-http':
      if (!choice.upstream) throw new RangeError('the whisper-http engine needs --upstream <url>');
      return createWhisperEngine({
        name: 'whisper-http',
        upstreams: [choice.upstream],
        model: choice.whisperModel,
        timeoutMs: choice.timeoutMs ?? 30 * 60_000,
        splitSeconds: choice.splitSeconds,
        maxQueue: choice.maxQueue,
      });
  }
}
