/**
 * The `whisper` engine: whisper.cpp run by the server itself (`serve --engine whisper --model-file FILE`). It checks
 * the model file, starts and supervises the whisper-server children (supervisor.ts), and sends each transcription to
 * one of them in turn over loopback HTTP (the whisper-http client). A request whose child dies under it fails with
 * `ENGINE_FAILED`, never hangs; the child is restarted for the next one.
 */
import { cancelled, EngineError, type TranscriptionEngine } from '../engine.js';
import { createWhisperHttpEngine } from '../whisper-http.js';
import type { WhisperModelFile } from './model-file.js';
import { startWhisperServers, type WhisperServers } from './supervisor.js';

export interface SupervisedWhisperOptions {
  /** The whisper-server executable. */
  readonly binary: string;
  /** The checked model file (readWhisperModelFile). */
  readonly model: WhisperModelFile;
  /** whisper-server processes; default 1. */
  readonly instances?: number;
  /** Threads of each; default 2. */
  readonly threads?: number;
  /** Longest a transcription may take (ms). */
  readonly timeoutMs: number;
  readonly log?: (line: string) => void;
}

/** A supervised engine exposes its children (tests look for orphans and kill one). */
export interface SupervisedWhisperEngine extends TranscriptionEngine {
  readonly servers: WhisperServers;
}

/**
 * whisper-server's arguments that change what it answers, beyond the model (measured into PCR16 with it): a
 * multilingual model detects the language unless the request names one.
 */
export function whisperServerArgs(model: WhisperModelFile): string[] {
  return model.englishOnly ? [] : ['-l', 'auto'];
}

/** The attested model: its file name and SHA-256, e.g. `ggml-base.en.bin sha256:…`. */
export function whisperModelLabel(model: WhisperModelFile): string {
  return `${model.name} sha256:${model.sha256}`;
}

/** Starts the children (resolves once each is healthy) and returns the engine. */
export async function createSupervisedWhisperEngine(options: SupervisedWhisperOptions): Promise<SupervisedWhisperEngine> {
  const { model } = options;
  const servers = await startWhisperServers({
    binary: options.binary,
    modelFile: model.file,
    instances: options.instances ?? 1,
    threads: options.threads ?? 2,
    args: whisperServerArgs(model),
    log: options.log,
  });
  const clients = servers.upstreams.map((upstream) => createWhisperHttpEngine({ upstream, model: model.name, timeoutMs: options.timeoutMs }));
  let next = 0;
  let closing: Promise<void> | undefined;
  return {
    name: 'whisper',
    model: whisperModelLabel(model),
    languages: model.englishOnly ? ['en'] : undefined,
    servers,
    async transcribe(request) {
      if (closing) throw new EngineError('UNAVAILABLE', 'The engine is shutting down.');
      if (request.signal?.aborted) throw cancelled();
      const i = next++ % clients.length;
      const deaths = servers.deaths(i);
      try {
        return await clients[i]!.transcribe(request);
      } catch (err) {
        // A dead child resets its connections: the client sees an unreachable server a moment before the exit is reported.
        if (err instanceof EngineError && err.code === 'UNAVAILABLE' && (servers.deaths(i) !== deaths || (await servers.exitsWithin(i, 1_000)))) {
          throw new EngineError('ENGINE_FAILED', undefined, { cause: err });
        }
        throw err;
      }
    },
    close() {
      closing ??= Promise.all(clients.map((client) => client.close())).then(() => servers.close());
      return closing;
    },
  };
}
