/**
 * The `whisper` engine: whisper.cpp run by the server itself (`serve --engine whisper --model-file FILE`). It starts
 * and supervises the whisper-server children on the checked model file (supervisor.ts) and hands them to the Whisper
 * engine (engine.ts) as its upstreams: the server decodes and splits, the children transcribe pieces. A piece whose
 * child dies under it fails with `ENGINE_FAILED`, never hangs; a child restarting is skipped for the others.
 */
import { availableParallelism } from 'node:os';
import { createWhisperEngine, type WhisperEngine } from './engine.js';
import type { WhisperModelFile } from './model-file.js';
import { startWhisperServers, type WhisperServers } from './supervisor.js';

export interface SupervisedWhisperOptions {
  /** The whisper-server executable. */
  readonly binary: string;
  /** The checked model file (readWhisperModelFile). */
  readonly model: WhisperModelFile;
  /** whisper-server processes; default 1. */
  readonly instances?: number;
  /** Threads of each; default the machine's cores shared out among the processes (more would only wait for a core). */
  readonly threads?: number;
  /** Longest one piece may take (ms). */
  readonly timeoutMs: number;
  /** Audio at least this long (seconds) is split at pauses and its pieces spread over the children. */
  readonly splitSeconds?: number;
  /** Transcriptions that may wait while every child is busy. */
  readonly maxQueue?: number;
  readonly log?: (line: string) => void;
}

/** A supervised engine exposes its children (tests look for orphans and kill one). */
export interface SupervisedWhisperEngine extends WhisperEngine {
  readonly servers: WhisperServers;
}

/**
 * whisper-server's arguments that change what it answers, beyond the model (measured into PCR16 with it): a
 * multilingual model detects the language unless the request names one.
 */
export function whisperServerArgs(model: WhisperModelFile): string[] {
  return model.englishOnly ? [] : ['-l', 'auto'];
}

/** Threads for each of `instances` children: the cores shared out, at least one (2 × 2 on 2 cores ran 3.9× slower than 2 × 1). */
export function defaultThreads(instances: number): number {
  return Math.max(1, Math.floor(availableParallelism() / instances));
}

/** Starts the children (resolves once each is healthy) and returns the engine. */
export async function createSupervisedWhisperEngine(options: SupervisedWhisperOptions): Promise<SupervisedWhisperEngine> {
  const { model } = options;
  const servers = await startWhisperServers({
    binary: options.binary,
    modelFile: model.file,
    instances: options.instances ?? 1,
    threads: options.threads ?? defaultThreads(options.instances ?? 1),
    args: whisperServerArgs(model),
    log: options.log,
  });
  const engine = createWhisperEngine({ name: 'whisper', upstreams: servers.upstreams, model, timeoutMs: options.timeoutMs, splitSeconds: options.splitSeconds, maxQueue: options.maxQueue });
  let closing: Promise<void> | undefined;
  return {
    ...engine,
    servers,
    close() {
      closing ??= engine.close().then(() => servers.close());
      return closing;
    },
  };
}
