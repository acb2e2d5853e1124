/** The length audio states in its header (WAV, FLAC), and none for the formats that do not state one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { audioDurationSeconds, blobDurationSeconds } from '../../src/core/audio-duration.js';

/** A RIFF/WAVE header: `chunks` before `data` (each [id, body]), PCM at `byteRate`, and a data size field of `dataField`. */
function wav(byteRate: number, dataField: number, chunks: [string, Buffer][] = []): Buffer {
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0);
  fmt.writeUInt16LE(1, 2);
  fmt.writeUInt32LE(byteRate / 2, 4);
  fmt.writeUInt32LE(byteRate, 8);
  fmt.writeUInt16LE(2, 12);
  fmt.writeUInt16LE(16, 14);
  const chunk = (id: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.write(id, 0, 'latin1');
    head.writeUInt32LE(body.length, 4);
    return Buffer.concat([head, body, body.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const data = Buffer.alloc(8);
  data.write('data', 0, 'latin1');
  data.writeUInt32LE(dataField, 4);
  return Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), ...chunks.map(([id, body]) => chunk(id, body)), chunk('fmt ', fmt), data]);
}

describe('audioDurationSeconds', () => {
  it('a WAV: its data size over its byte rate, past other chunks (odd sizes padded)', () => {
    const head = wav(32_000, 320_000, [['LIST', Buffer.alloc(25)]]);
    assert.equal(audioDurationSeconds(head, head.length + 320_000), 10);
  });

  it('a WAV still being written (size 0 or 0xFFFFFFFF): the rest of the file is its data; a size past the end is cut to it', () => {
    for (const field of [0, 0xffffffff]) {
      const head = wav(32_000, field);
      assert.equal(audioDurationSeconds(head, head.length + 64_000), 2);
    }
    const head = wav(32_000, 320_000);
    assert.equal(audioDurationSeconds(head, head.length + 32_000), 1);
  });

  it('a FLAC: STREAMINFO’s samples over its rate', () => {
    const head = Buffer.alloc(42);
    head.write('fLaC', 0, 'latin1');
    head[7] = 34; // STREAMINFO, 34 bytes
    // 16 000 Hz (20 bits), mono, 16-bit, 480 000 samples (36 bits).
    const rate = 16_000;
    head[18] = rate >> 12;
    head[19] = (rate >> 4) & 0xff;
    head[20] = ((rate & 0xf) << 4) | (0 << 1) | 0;
    head[21] = (15 << 4) & 0xf0;
    head.writeUInt32BE(480_000, 22);
    assert.equal(audioDurationSeconds(head, 1_000_000), 30);
  });

  it('MP3, Ogg, and a WAV without fmt or data within its head: unknown', () => {
    assert.equal(audioDurationSeconds(Buffer.from('ID3\x04\0\0\0\0\0\0', 'latin1'), 1000), undefined);
    assert.equal(audioDurationSeconds(Buffer.from('OggS\0\x02', 'latin1'), 1000), undefined);
    assert.equal(audioDurationSeconds(Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'), 1000), undefined);
  });

  it('reads only the start of a Blob', async () => {
    const head = wav(32_000, 3_200_000);
    assert.equal(await blobDurationSeconds(new Blob([head, new Uint8Array(3_200_000)])), 100);
  });
});
