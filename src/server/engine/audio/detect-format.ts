/**
 * Which audio format a file holds, from its first bytes (never from its name, which the client chose). Only the
 * formats the engine is tested on are accepted; other recognised containers are refused as unsupported, so that a
 * client learns "415: send WAV, MP3, FLAC or Ogg" instead of "400: broken file". Pure: `probe.ts` reads the file.
 */
/** A codec `audio-decode` decodes as a stream (its format names). */
export type Codec = 'wav' | 'mp3' | 'flac' | 'oga' | 'opus';

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

function withinChannels(name: string, channels: number | undefined, codec: Codec): DetectedFormat {
  return channels !== undefined && channels > MAX_CHANNELS ? { kind: 'unsupported', name: `${name} with ${channels} channels (at most ${MAX_CHANNELS})` } : { kind: 'supported', codec };
}

/** Classifies the first bytes of a file (at least `HEAD_BYTES` of them, or the whole file if shorter). */
export function detectFormat(b: Uint8Array): DetectedFormat {
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE')) return { kind: 'supported', codec: 'wav' };
  if (ascii(b, 0, 'fLaC')) return { kind: 'supported', codec: 'flac' };
  if (ascii(b, 0, 'ID3') && b.length >= 10) {
    // ID3v2: a syncsafe size (7 bits a byte) after a 10-byte header, plus a 10-byte footer when flagged.
    const size = ((b[6]! & 0x7f) << 21) | ((b[7]! & 0x7f) << 14) | ((b[8]! & 0x7f) << 7) | (b[9]! & 0x7f);
    return { kind: 'skip', offset: 10 + size + (b[5]! & 0x10 ? 10 : 0) };
  }
  if (ascii(b, 0, 'OggS')) {
    // The first page carries the codec's identification header right after the segment table.
    const body = 27 + (b[26] ?? 0);
    if (ascii(b, body, '\x01vorbis')) return withinChannels('Ogg Vorbis', b[body + 11], 'oga'); // after the version (u32)
    if (ascii(b, body, 'OpusHead')) return withinChannels('Ogg Opus', b[body + 9], 'opus'); // after the version (u8)
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
