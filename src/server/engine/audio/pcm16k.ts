/**
 * From an uploaded file to what PocketSphinx takes: 16 kHz mono signed 16-bit samples, in blocks as they are
 * decoded, with the input's duration so far. Bounded: refuses input that runs past `maxSeconds`.
 */
import { EngineError } from '../engine.js';
import { decodeMono } from './decode.js';
import type { Codec } from '../../../protocol/audio-format.js';
import type { Resampler } from './resample.js';

/** The recogniser's sample rate. */
export const SPEECH_RATE = 16_000;

export interface Pcm16kBlock {
  readonly pcm: Int16Array;
  /** Seconds of input decoded up to and including this block. */
  readonly inputSeconds: number;
}

/** Float samples to s16, rounded and clipped (decoders may overshoot ±1 slightly). */
export function toInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768)));
  return out;
}

/**
 * Decodes `path`, converts it with `resampler` (which it restarts) and yields 16 kHz s16 blocks in order; the last
 * block's `inputSeconds` is the input's duration. Throws `EngineError` `UNREADABLE_AUDIO` when decoding fails or the
 * sample rate is unusable or changes midway, and `TOO_LONG` when the audio is longer than `maxSeconds`.
 */
export async function* pcm16k(path: string, codec: Codec, resampler: Resampler, maxSeconds: number): AsyncGenerator<Pcm16kBlock> {
  let rate = 0;
  let inputSamples = 0;
  for await (const block of decodeMono(path, codec)) {
    if (rate === 0) {
      rate = block.sampleRate;
      try {
        resampler.start(rate);
      } catch (err) {
        throw new EngineError('UNREADABLE_AUDIO', `The audio's sample rate (${rate} Hz) is not one this server takes.`, { cause: err });
      }
    } else if (block.sampleRate !== rate) {
      throw new EngineError('UNREADABLE_AUDIO', `The audio changes sample rate midway (${rate} Hz, then ${block.sampleRate} Hz).`);
    }
    inputSamples += block.samples.length;
    const inputSeconds = inputSamples / rate;
    if (inputSeconds > maxSeconds) throw tooLong(maxSeconds);
    yield { pcm: toInt16(resampler.push(block.samples)), inputSeconds };
  }
  if (rate !== 0) yield { pcm: toInt16(resampler.end()), inputSeconds: inputSamples / rate };
}

/** The refusal for audio over the engine's limit (400: the request, not the server, is at fault). */
export function tooLong(maxSeconds: number): EngineError {
  return new EngineError('TOO_LONG', `The audio is longer than this server's limit of ${formatSeconds(maxSeconds)}.`);
}

function formatSeconds(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
