/**
 * Writes a real ggml Whisper model file with tiny dimensions (width 32, one encoder and one decoder layer), in the
 * layout whisper.cpp's whisper_model_load reads, so that tests run the real whisper-server without weights that can
 * not be fetched here. It tests plumbing, not accuracy: every weight is zero except a few that make the decoder say
 * the same thing for every 30-second window whatever the audio, namely one segment whose text is TINY_MODEL_WORD.
 *
 * How: with zero attention and MLP weights the decoder's last hidden state is layer_norm(token embedding of the
 * previous token) · g + b, and the logits are its dot products with the (tied) token embeddings. With two orthonormal
 * zero-mean directions u1, u2: e(word) = α·u1, e(EOT) = α·(2u1 + 3u2), b = β·(u1 − u2), g·√width = 4β, α = β = 4.5.
 * After a timestamp (zero embedding) the word leads by αβ ≈ 20; after the word, EOT leads it by 2αβ. Whisper forces a
 * timestamp first, so each window decodes as <|0.00|> word <|endoftext|>.
 *
 * Files are cached in the OS temporary directory under a name that changes with this layout, written atomically.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ENGLISH_ONLY_VOCAB, GGML_FILE_MAGIC, WHISPER_HPARAMS, WHISPER_N_FFT, type WhisperHparams } from '../src/server/engine/whisper/model-file.js';

/** The text of each segment the tiny model decodes. */
export const TINY_MODEL_WORD = ' tiny';
const LAYOUT_VERSION = 2;
const WIDTH = 32;
const ALPHA = 4.5;
const BETA = 4.5;

/** Little-endian writer into growing chunks. */
class Writer {
  readonly chunks: Buffer[] = [];
  i32(...values: number[]): this {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
    this.chunks.push(b);
    return this;
  }
  u32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    this.chunks.push(b);
    return this;
  }
  bytes(b: ArrayBufferView): this { // typed arrays in host order: little-endian on every platform whisper.cpp runs here
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return this;
  }
}

function hparamsFor(englishOnly: boolean): WhisperHparams {
  return {
    n_vocab: englishOnly ? ENGLISH_ONLY_VOCAB : ENGLISH_ONLY_VOCAB + 1,
    n_audio_ctx: 1500,
    n_audio_state: WIDTH,
    n_audio_head: 1,
    n_audio_layer: 1,
    n_text_ctx: 448,
    n_text_state: WIDTH,
    n_text_head: 1,
    n_text_layer: 1,
    n_mels: 80,
    ftype: 1, // matrices in f16 (whisper.cpp's convolutions take nothing else), the rest f32
  };
}

/** The tensors whisper_model_load creates for these hparams (name and ggml dims), in any order. */
function tensorShapes(h: WhisperHparams): [string, number[]][] {
  const n = h.n_audio_state;
  const block = (prefix: string, cross: boolean): [string, number[]][] => {
    const attn = (a: string): [string, number[]][] => [
      [`${prefix}.${a}_ln.weight`, [n]],
      [`${prefix}.${a}_ln.bias`, [n]],
      [`${prefix}.${a}.query.weight`, [n, n]],
      [`${prefix}.${a}.query.bias`, [n]],
      [`${prefix}.${a}.key.weight`, [n, n]],
      [`${prefix}.${a}.value.weight`, [n, n]],
      [`${prefix}.${a}.value.bias`, [n]],
      [`${prefix}.${a}.out.weight`, [n, n]],
      [`${prefix}.${a}.out.bias`, [n]],
    ];
    return [
      [`${prefix}.mlp_ln.weight`, [n]],
      [`${prefix}.mlp_ln.bias`, [n]],
      [`${prefix}.mlp.0.weight`, [n, 4 * n]],
      [`${prefix}.mlp.0.bias`, [4 * n]],
      [`${prefix}.mlp.2.weight`, [4 * n, n]],
      [`${prefix}.mlp.2.bias`, [n]],
      ...attn('attn'),
      ...(cross ? attn('cross_attn') : []),
    ];
  };
  const layers = (count: number, prefix: string, cross: boolean) => Array.from({ length: count }, (_, i) => block(`${prefix}.blocks.${i}`, cross)).flat();
  return [
    ['encoder.positional_embedding', [n, h.n_audio_ctx]],
    ['encoder.conv1.weight', [3, h.n_mels, n]],
    ['encoder.conv1.bias', [1, n]],
    ['encoder.conv2.weight', [3, n, n]],
    ['encoder.conv2.bias', [1, n]],
    ['encoder.ln_post.weight', [n]],
    ['encoder.ln_post.bias', [n]],
    ...layers(h.n_audio_layer, 'encoder', false),
    ['decoder.positional_embedding', [n, h.n_text_ctx]],
    ['decoder.token_embedding.weight', [n, h.n_vocab]],
    ['decoder.ln.weight', [n]],
    ['decoder.ln.bias', [n]],
    ...layers(h.n_text_layer, 'decoder', true),
  ];
}

/** IEEE 754 half-precision bits of a normal or zero `value` (round to nearest). */
function toHalf(value: number): number {
  if (value === 0) return 0;
  const sign = value < 0 ? 0x8000 : 0;
  const exponent = Math.floor(Math.log2(Math.abs(value)));
  const mantissa = Math.round((Math.abs(value) / 2 ** exponent - 1) * 1024);
  return sign | ((exponent + 15 + (mantissa >> 10)) << 10) | (mantissa & 0x3ff);
}

/** The bytes of a tiny model; `englishOnly`: the 51864-token vocabulary of `*.en` models, else a multilingual one. */
export function tinyWhisperModelBytes(englishOnly: boolean): Buffer {
  const h = hparamsFor(englishOnly);
  const w = new Writer().u32(GGML_FILE_MAGIC).i32(...WHISPER_HPARAMS.map((k) => h[k]));
  w.i32(h.n_mels, WHISPER_N_FFT).bytes(new Float32Array(h.n_mels * WHISPER_N_FFT));
  // Vocabulary: " " (whisper.cpp looks it up by text) and the word; the loader names the other ids itself.
  const vocab = [' ', TINY_MODEL_WORD];
  w.i32(vocab.length);
  for (const word of vocab) w.u32(Buffer.byteLength(word)).bytes(Buffer.from(word));

  const wordId = 1;
  const eot = englishOnly ? 50256 : 50257;
  const r = Math.SQRT1_2; // u1 = (e0 − e1)/√2, u2 = (e2 − e3)/√2
  const values: Record<string, (t: Float32Array) => void> = {
    'decoder.token_embedding.weight': (t) => {
      t.set([ALPHA * r, -ALPHA * r], wordId * WIDTH);
      t.set([2 * ALPHA * r, -2 * ALPHA * r, 3 * ALPHA * r, -3 * ALPHA * r], eot * WIDTH);
    },
    'decoder.ln.weight': (t) => t.fill((4 * BETA) / Math.sqrt(WIDTH)),
    'decoder.ln.bias': (t) => t.set([BETA * r, -BETA * r, -BETA * r, BETA * r]),
  };
  for (const [name, dims] of tensorShapes(h)) {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    values[name]?.(data);
    // As whisper.cpp's converter stores them: weight matrices in the model's ftype, the rest (biases, norms, positions) f32.
    const half = name.endsWith('.weight') && dims.length >= 2 && dims[0] !== 1;
    const nameBytes = Buffer.from(name);
    w.i32(dims.length, nameBytes.length, half ? 1 : 0).i32(...dims).bytes(nameBytes).bytes(half ? Uint16Array.from(data, toHalf) : data);
  }
  return Buffer.concat(w.chunks);
}

/** The path of a cached tiny model file (written on first use). */
export async function tinyWhisperModel({ englishOnly }: { readonly englishOnly: boolean }): Promise<string> {
  const dir = path.join(tmpdir(), 'blindbox-whisper-tiny');
  const file = path.join(dir, `ggml-tiny-test-v${LAYOUT_VERSION}${englishOnly ? '.en' : ''}.bin`);
  if (await stat(file).then((s) => s.isFile(), () => false)) return file;
  await mkdir(dir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, tinyWhisperModelBytes(englishOnly));
  await rename(temp, file);
  return file;
}
