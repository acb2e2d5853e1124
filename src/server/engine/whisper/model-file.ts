/**
 * What a ggml Whisper model file says about itself, read and checked before whisper-server is started on it: a file
 * that is not such a model is refused at start-up with one line, instead of a child process dying while loading it.
 *
 * The layout is whisper.cpp's (src/whisper.cpp, whisper_model_load): little-endian
 *   u32 magic 0x67676d6c ("ggml") ‖ 11 × i32 hparams (below) ‖ i32 n_mel ‖ i32 n_fft ‖ n_mel·n_fft f32 mel filters ‖
 *   i32 n_vocab ‖ n_vocab × (u32 length ‖ bytes) ‖ tensors (i32 n_dims, i32 name length, i32 type, dims, name, data)…
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';

/** "ggml", whisper.cpp's GGML_FILE_MAGIC. */
export const GGML_FILE_MAGIC = 0x67676d6c;

/** The hyper-parameters in a model's header, in file order. */
export const WHISPER_HPARAMS = ['n_vocab', 'n_audio_ctx', 'n_audio_state', 'n_audio_head', 'n_audio_layer', 'n_text_ctx', 'n_text_state', 'n_text_head', 'n_text_layer', 'n_mels', 'ftype'] as const;
export type WhisperHparams = Readonly<Record<(typeof WHISPER_HPARAMS)[number], number>>;

/** The vocabulary size of English-only (`*.en`) models; multilingual ones have more (51865, or 51866 for large-v3). */
export const ENGLISH_ONLY_VOCAB = 51864;
/** whisper.cpp's mel filter bank width: 1 + 400-sample FFT / 2. */
export const WHISPER_N_FFT = 201;

/** A model file as the engine is told of it. */
export interface WhisperModelFile {
  /** The file's absolute path. */
  readonly file: string;
  /** Its base name, e.g. `ggml-base.en.bin`: attested as the model. */
  readonly name: string;
  /** Hex SHA-256 of the whole file (what whisper.cpp's model list publishes). */
  readonly sha256: string;
  /** An English-only model: it transcribes English and refuses other languages. */
  readonly englishOnly: boolean;
  readonly hparams: WhisperHparams;
}

/** The file is missing, unreadable, or not a ggml Whisper model; `message` is one line naming the file. */
export class WhisperModelError extends Error {
  override name = 'WhisperModelError';
}

const HEADER_BYTES = 4 + 4 * WHISPER_HPARAMS.length + 8;

/** Checks a header: magic, plausible hyper-parameters, and the mel filter bank that follows them. */
export function parseWhisperHeader(header: Uint8Array, fileSize: number): WhisperHparams {
  if (header.length < HEADER_BYTES) throw new Error(`it is ${fileSize} bytes, shorter than a model's header`);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (view.getUint32(0, true) !== GGML_FILE_MAGIC) throw new Error('it does not start with the ggml magic');
  const entries = WHISPER_HPARAMS.map((key, i) => [key, view.getInt32(4 + 4 * i, true)] as const);
  const hparams = Object.freeze(Object.fromEntries(entries)) as WhisperHparams;
  const positive = WHISPER_HPARAMS.filter((key) => key !== 'ftype').every((key) => hparams[key] > 0 && hparams[key] <= 1 << 20);
  if (!positive || hparams.ftype < 0) throw new Error('its header holds no Whisper hyper-parameters');
  if (hparams.n_vocab < ENGLISH_ONLY_VOCAB) throw new Error(`its vocabulary has ${hparams.n_vocab} tokens, fewer than Whisper's ${ENGLISH_ONLY_VOCAB}`);
  if (hparams.n_audio_state !== hparams.n_text_state) throw new Error('its audio and text widths differ');
  if (hparams.n_audio_state % hparams.n_audio_head !== 0 || hparams.n_text_state % hparams.n_text_head !== 0) throw new Error('its widths are not a multiple of its head counts');
  const nMel = view.getInt32(4 + 4 * WHISPER_HPARAMS.length, true);
  const nFft = view.getInt32(8 + 4 * WHISPER_HPARAMS.length, true);
  if (nMel !== hparams.n_mels || nFft !== WHISPER_N_FFT) throw new Error(`its mel filters are ${nMel}×${nFft}, not ${hparams.n_mels}×${WHISPER_N_FFT}`);
  if (fileSize < HEADER_BYTES + 4 * nMel * nFft + 4) throw new Error('it ends inside its mel filters');
  return hparams;
}

/** Reads and checks `file`'s header and hashes it whole (streamed: a model is up to gigabytes). */
export async function readWhisperModelFile(file: string): Promise<WhisperModelFile> {
  const absolute = path.resolve(file);
  let hparams: WhisperHparams;
  try {
    const handle = await open(absolute, 'r');
    try {
      const { size } = await handle.stat();
      const header = new Uint8Array(HEADER_BYTES);
      const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0);
      hparams = parseWhisperHeader(header.subarray(0, bytesRead), size);
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code ? `cannot be read (${code})` : `is not a ggml Whisper model: ${(err as Error).message}`;
    throw new WhisperModelError(`the model file ${JSON.stringify(file)} ${why}`, { cause: err });
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(absolute)) hash.update(chunk as Buffer);
  return Object.freeze({ file: absolute, name: path.basename(absolute), sha256: hash.digest('hex'), englishOnly: hparams.n_vocab === ENGLISH_ONLY_VOCAB, hparams });
}
