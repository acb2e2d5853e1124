/**
 * Streaming sample-rate conversion with libsamplerate (WebAssembly): a band-limited windowed-sinc converter, so that
 * 44.1/48 kHz speech reaches the recogniser without aliasing, and 8 kHz speech without imaging.
 */
import libsamplerate from '@alexanderolsen/libsamplerate-js';

type Converter = Awaited<ReturnType<typeof libsamplerate.create>>;

/**
 * SINC_MEDIUM_QUALITY: 97 dB SNR with a passband to 90 % of Nyquist (7.2 kHz at 16 kHz), which keeps the whole band
 * the en-us acoustic model listens to (its filterbank tops out at 6.8 kHz); SINC_FASTEST's 80 % (6.4 kHz) would not.
 */
const CONVERTER = libsamplerate.ConverterType.SRC_SINC_MEDIUM_QUALITY;
/** libsamplerate-js converts through fixed 1,008,000-float buffers and drops what does not fit: at the largest ratio
 * (16x, from 1 kHz) this many input samples still fit. */
const MAX_PUSH = 1 << 14;
/** Zeros fed at the end to push the filter's tail out: its delay is under 50 input samples when upsampling and a few
 * milliseconds when downsampling. */
const FLUSH_SECONDS = 0.05;
const FLUSH_MIN_SAMPLES = 256;
/** Rates outside this are not audio we expect, and libsamplerate's ratio range ends at 256. */
export const MIN_INPUT_RATE = 1000;
export const MAX_INPUT_RATE = 768_000;

/**
 * One mono stream at a time, from any input rate to `outputRate`. Its output is time-aligned with its input and, once
 * `end()` is called, exactly `round(inputSamples × outputRate / inputRate)` samples long. The WebAssembly instance is
 * made once and reused for every stream (`start` resets it).
 */
export class Resampler {
  #inputRate = 0;
  #inputSamples = 0;
  #outputSamples = 0;
  readonly #converter: Converter;

  private constructor(
    converter: Converter,
    readonly outputRate: number,
  ) {
    this.#converter = converter;
  }

  static async create(outputRate: number): Promise<Resampler> {
    return new Resampler(await libsamplerate.create(1, outputRate, outputRate, { converterType: CONVERTER }), outputRate);
  }

  /** Starts a new stream at `inputRate`, forgetting the last one. */
  start(inputRate: number): void {
    if (!(inputRate >= MIN_INPUT_RATE && inputRate <= MAX_INPUT_RATE)) throw new RangeError(`unsupported sample rate ${inputRate} Hz`);
    this.#inputRate = inputRate;
    this.#inputSamples = 0;
    this.#outputSamples = 0;
    // libsamplerate-js rebuilds its converter state whenever the input rate is set, even to the same value.
    if (inputRate !== this.outputRate) this.#converter.inputSampleRate = inputRate;
  }

  /** Converts the next samples of the stream; the output may lag the input by the filter's delay until `end()`. */
  push(samples: Float32Array): Float32Array {
    this.#inputSamples += samples.length;
    if (this.#inputRate === this.outputRate) {
      this.#outputSamples += samples.length;
      return samples;
    }
    const pieces: Float32Array[] = [];
    for (let at = 0; at < samples.length; at += MAX_PUSH) pieces.push(this.#converter.full(samples.subarray(at, at + MAX_PUSH)));
    return this.#take(concat(pieces), Infinity);
  }

  /** Ends the stream: returns the rest of the output, exactly up to the length that the input's duration calls for. */
  end(): Float32Array {
    if (this.#inputRate === this.outputRate) return new Float32Array(0);
    const expected = Math.round((this.#inputSamples * this.outputRate) / this.#inputRate);
    const tail = this.#converter.full(new Float32Array(Math.ceil(this.#inputRate * FLUSH_SECONDS) + FLUSH_MIN_SAMPLES));
    return this.#take(tail, expected);
  }

  #take(output: Float32Array, limit: number): Float32Array {
    const kept = output.subarray(0, Math.max(0, Math.min(output.length, limit - this.#outputSamples)));
    this.#outputSamples += kept.length;
    return kept;
  }
}

function concat(pieces: readonly Float32Array[]): Float32Array {
  if (pieces.length === 1) return pieces[0]!;
  const out = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const piece of pieces) {
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}
