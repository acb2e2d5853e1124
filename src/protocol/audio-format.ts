/**
 * Which audio format a file holds, from its first bytes (never from its name, which the client chose). Only the
 * formats the engine is tested on are accepted; other recognised containers are refused as unsupported, so that a
 * client learns "415: send WAV, MP3, FLAC or Ogg" instead of "400: broken file".
 *
 * Part of the wire contract because both sides run it: the server's probe before a file takes a worker, and the
 * client before any attestation or upload, so that a file the server would refuse never leaves the machine and the
 * editor offers exactly the files the server decodes. Pure: the caller reads the bytes.
 */
/** A codec the server decodes as a stream (`audio-decode`'s format names). */
export type Codec = 'wav' | 'mp3' | 'flac' | 'oga' | 'opus';

/** File name extensions (lower case, no dot) of the formats above: what the editor offers to transcribe. */
export const AUDIO_FILE_EXTENSIONS = ['wav', 'mp3', 'flac', 'ogg', 'oga', 'opus'] as const;

/** The formats accepted, in words, for messages. */
export const ACCEPTED_FORMATS = 'WAV, MP3, FLAC, or Ogg (Vorbis or Opus)';

export type DetectedFormat =
  | { readonly kind: 'supported'; readonly codec: Codec }
  | { readonly kind: 'unsupported'; readonly name: string }
  | { readonly kind: 'unknown' }
  /** An ID3v2 tag: look again `offset` bytes further on, where what follows the tag starts. */
  | { readonly kind: 'skip'; readonly offset: number };

/** Bytes `detectFormat` needs to decide (an Ogg stream's first page names its codec within its first 64 bytes). */
export const HEAD_BYTES = 64;

const ascii = (bytes: Uint8Array, at: number, text: string): boolean =>
  bytes.length >= at + text.length && [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));

/** An MPEG audio frame header at 0: sync, a defined version and layer, a usable bitrate and sample rate. */
function mpegFrame(b: Uint8Array): 'mp3' | 'adts' | undefined {
  if (b.length < 4 || b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) return undefined;
  const layer = (b[1]! >> 1) & 3;
  if (layer === 0) return (b[1]! & 0xf6) === 0xf0 ? 'adts' : undefined; // AAC's ADTS shares the sync word
  const version = (b[1]! >> 3) & 3;
  const bitrate = b[2]! >> 4;
  const rate = (b[2]! >> 2) & 3;
  return version !== 1 && bitrate !== 15 && rate !== 3 ? 'mp3' : undefined;
}

/**
 * Most channels accepted. Speech has one or two; Vorbis and Opus allow 255, and a near-empty packet stands for
 * thousands of samples per channel, so a tiny file with hundreds of channels would decode to a flood of samples
 * before any length check could see it.
 */
export const MAX_CHANNELS = 8;

/**
 * Highest sample rate accepted. Speech needs 16 kHz and recorders go up to 96 kHz; FLAC allows 655,350 Hz, and the
 * decoding and resampling cost grows with the rate: a minute of 8-channel silence at that rate, 22 KB of FLAC, cost
 * 44 s of a worker. With both caps, a second of audio is at most 768,000 decoded samples, whatever its size.
 */
export const MAX_SAMPLE_RATE = 96_000;

/**
 * Why audio of `channels` at `rate` Hz (either unknown: undefined) is beyond what the server decodes, in words
 * ("with 255 channels (at most 8)"), or undefined when it is within both caps. Both sides apply it to headers; the
 * server again to every decoded block, which is what a lying header or a second chained stream cannot get past.
 */
export function beyondSpeech(channels: number | undefined, rate: number | undefined): string | undefined {
  if (channels !== undefined && channels > MAX_CHANNELS) return `with ${channels} channels (at most ${MAX_CHANNELS})`;
  if (rate !== undefined && rate > MAX_SAMPLE_RATE) return `at ${rate} Hz (at most ${MAX_SAMPLE_RATE} Hz)`;
  return undefined;
}

function withinSpeech(name: string, codec: Codec, channels: number | undefined, rate?: number): DetectedFormat {
  const beyond = beyondSpeech(channels, rate);
  return beyond === undefined ? { kind: 'supported', codec } : { kind: 'unsupported', name: `${name} ${beyond}` };
}

/** What a FLAC file's STREAMINFO block (first after `fLaC`, which `b` starts with) states, if `b` holds it. */
export interface FlacStreamInfo {
  readonly rate: number;
  readonly channels: number;
  /** Samples per channel; 0 means unknown (a streaming encoder's output). */
  readonly totalSamples: number;
}

/** Bytes from `fLaC` to the end of STREAMINFO's total-samples field. */
const FLAC_HEAD_BYTES = 26;

/** STREAMINFO's fields, or undefined when `b` (from `fLaC`) is too short or does not start with STREAMINFO. */
export function flacStreamInfo(b: Uint8Array): FlacStreamInfo | undefined {
  if (b.length < FLAC_HEAD_BYTES) return undefined;
  const length = (b[5]! << 16) | (b[6]! << 8) | b[7]!;
  if ((b[4]! & 0x7f) !== 0 || length < 34) return undefined; // not STREAMINFO
  // After the block and frame size bounds (10 bytes): 20 bits of sample rate, 3 of channels - 1, 5 of depth, 36 of total.
  const rate = (b[18]! << 12) | (b[19]! << 4) | (b[20]! >> 4);
  const channels = ((b[20]! >> 1) & 7) + 1;
  const totalSamples = (b[21]! & 0x0f) * 2 ** 32 + ((b[22]! << 24) >>> 0) + (b[23]! << 16) + (b[24]! << 8) + b[25]!;
  return { rate, channels, totalSamples };
}

/** Classifies the first bytes of a file (at least `HEAD_BYTES` of them, or the whole file if shorter). */
export function detectFormat(b: Uint8Array): DetectedFormat {
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE')) return { kind: 'supported', codec: 'wav' };
  if (ascii(b, 0, 'fLaC')) {
    const info = flacStreamInfo(b);
    return withinSpeech('FLAC', 'flac', info?.channels, info?.rate);
  }
  if (ascii(b, 0, 'ID3') && b.length >= 10) {
    // ID3v2: a syncsafe size (7 bits a byte) after a 10-byte header, plus a 10-byte footer when flagged.
    const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
    return { kind: 'skip', offset: 10 + size + (b[5]! & 0x10 ? 10 : 0) };
  }
  if (ascii(b, 0, 'OggS')) {
    // The first page carries the codec's identification header right after the segment table.
    const body = 27 + (b[26] ?? 0);
    // Vorbis: channels (u8) and rate (u32) after the version (u32). Opus: channels after the version (u8); its rate
    // field is the encoder's input rate, for information: Opus always decodes at 48 kHz.
    if (ascii(b, body, '\x01vorbis')) return withinSpeech('Ogg Vorbis', 'oga', b[body + 11], b.length >= body + 16 ? new DataView(b.buffer, b.byteOffset + body + 12, 4).getUint32(0, true) : undefined);
    if (ascii(b, body, 'OpusHead')) return withinSpeech('Ogg Opus', 'opus', b[body + 9]);
    if (ascii(b, body, '\x7fFLAC')) return { kind: 'unsupported', name: 'FLAC in Ogg' };
    if (ascii(b, body, 'Speex   ')) return { kind: 'unsupported', name: 'Speex' };
    return { kind: 'unsupported', name: 'Ogg with an unknown codec' };
  }
  if (ascii(b, 4, 'ftyp')) return { kind: 'unsupported', name: 'MP4/M4A' };
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { kind: 'unsupported', name: 'WebM/Matroska' };
  if ((ascii(b, 0, 'RF64') || ascii(b, 0, 'BW64')) && ascii(b, 8, 'WAVE')) return { kind: 'unsupported', name: 'RF64 WAV' };
  if (ascii(b, 0, 'FORM') && (ascii(b, 8, 'AIFF') || ascii(b, 8, 'AIFC'))) return { kind: 'unsupported', name: 'AIFF' };
  if (ascii(b, 0, 'caff')) return { kind: 'unsupported', name: 'CAF' };
  if (ascii(b, 0, '#!AMR')) return { kind: 'unsupported', name: 'AMR' };
  if (b[0] === 0x30 && b[1] === 0x26 && b[2] === 0xb2 && b[3] === 0x75) return { kind: 'unsupported', name: 'WMA/ASF' };
  const mpeg = mpegFrame(b);
  if (mpeg === 'mp3') return { kind: 'supported', codec: 'mp3' };
  if (mpeg === 'adts') return { kind: 'unsupported', name: 'AAC (ADTS)' };
  return { kind: 'unknown' };
}

/** Reads up to `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Promise<Uint8Array>;

/** What `classifyAudio` found: a codec (with the bytes it was recognised from), or why the file is refused. */
export type AudioClass =
  | { readonly kind: 'audio'; readonly codec: Codec; readonly head: Uint8Array }
  | { readonly kind: 'empty' | 'unsupported' | 'unreadable'; readonly message: string };

/** How many ID3v2 tags in a row are skipped before giving up (files carry one, rarely two). */
const MAX_ID3_TAGS = 4;

/**
 * Classifies a file of `size` bytes read through `readAt`, past any ID3v2 tags. A refusal's message is a sentence
 * about the file ("… is not supported: send WAV, …").
 */
export async function classifyAudio(readAt: ReadAt, size: number): Promise<AudioClass> {
  if (size === 0) return { kind: 'empty', message: 'The file is empty.' };
  let offset = 0;
  for (let tags = 0; tags <= MAX_ID3_TAGS; tags++) {
    const head = await readAt(offset, HEAD_BYTES);
    const format = detectFormat(head);
    switch (format.kind) {
      case 'supported':
        return { kind: 'audio', codec: format.codec, head };
      case 'unsupported':
        return { kind: 'unsupported', message: `${format.name} audio is not supported: send ${ACCEPTED_FORMATS}.` };
      case 'unknown':
        // Past an ID3 tag, MPEG audio may start after padding or junk that its decoder skips.
        if (tags > 0) return { kind: 'audio', codec: 'mp3', head };
        return { kind: 'unreadable', message: `The file is not audio in a format this server reads (${ACCEPTED_FORMATS}).` };
      case 'skip':
        offset += format.offset;
        if (offset >= size) return { kind: 'unreadable', message: 'The file holds an ID3 tag and no audio.' };
    }
  }
  return { kind: 'unreadable', message: 'The file starts with too many ID3 tags.' };
}
