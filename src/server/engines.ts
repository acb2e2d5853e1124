/** Picks and starts the speech engine a server was asked for (`serve --engine …`). */
import type { TranscriptionEngine } from './engine/engine.js';
import { createPocketSphinxEngine } from './engine/pocketsphinx/engine.js';
import { createWhisperEngine, type WhisperModel } from './engine/whisper/engine.js';
import { createSupervisedWhisperEngine } from './engine/whisper/supervised-engine.js';
import type { WhisperModelFile } from './engine/whisper/model-file.js';
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
  /** whisper, whisper-http: longest one upstream request (one piece) may take. */
  readonly timeoutMs?: number;
  /** whisper: the checked model file, the whisper-server executable, its processes and threads of each. */
  readonly whisper?: { readonly model: WhisperModelFile; readonly binary: string; readonly instances?: number; readonly threads?: number };
  readonly log?: (line: string) => void;
}

export async function startEngine(choice: EngineChoice): Promise<TranscriptionEngine> {
  const timeoutMs = choice.timeoutMs ?? 30 * 60_000;
  switch (choice.engine) {
    case 'pocketsphinx':
      return createPocketSphinxEngine({ workers: choice.workers, maxQueue: choice.maxQueue, splitSeconds: choice.splitSeconds });
    case 'whisper':
      if (!choice.whisper) throw new RangeError('the whisper engine needs --model-file <ggml model>');
      return createSupervisedWhisperEngine({ ...choice.whisper, timeoutMs, splitSeconds: choice.splitSeconds, maxQueue: choice.maxQueue, log: choice.log });
    case 'whisper-http':
      if (!choice.upstream) throw new RangeError('the whisper-http engine needs --upstream <url>');
      return createWhisperEngine({ name: 'whisper-http', upstreams: [choice.upstream], model: choice.whisperModel, timeoutMs, splitSeconds: choice.splitSeconds, maxQueue: choice.maxQueue });
  }
}
