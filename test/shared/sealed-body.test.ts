/**
 * The sealed body's chunking as bytes really arrive: a file read and TLS records cut the stream anywhere, so a chunk
 * of the wire may span many pieces and a piece many chunks. Sealed by the client's side and opened by the enclave's,
 * with the real HPKE set-up, bodies around the chunk size come back exactly, and a flipped bit anywhere is refused.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { SEALED_CHUNK_BYTES } from '../../src/protocol/sealed-body.js';
import { generateHpkeKeyPair, openingStream, recipientSide, SealedBodyError, sealChunks, senderSide } from '../../src/shared/sealed-body.js';

const INFO = new TextEncoder().encode('test info');

/** `bytes` cut into pieces of random sizes from 1 to `max`. */
function* pieces(bytes: Uint8Array, max: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(randomInt(1, max + 1), bytes.length - at);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function sealAndOpen(body: Uint8Array, sourcePiece: number, wirePiece: number, tamper?: (wire: Buffer) => void): Promise<Buffer> {
  const keys = await generateHpkeKeyPair();
  const sender = await senderSide(keys.publicKey, INFO);
  const frames: Uint8Array[] = [];
  for await (const frame of sealChunks(sender.sealer, pieces(body, sourcePiece))) frames.push(frame);
  const wire = Buffer.concat(frames);
  tamper?.(wire);
  const recipient = await recipientSide(keys.privateKey, sender.enc, INFO);
  const opening = openingStream(recipient.opener, wire.length);
  const out: Buffer[] = [];
  opening.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise<void>((resolve, reject) => opening.once('end', resolve).once('error', reject));
  for (const piece of pieces(wire, wirePiece)) opening.write(piece);
  opening.end();
  await ended;
  return Buffer.concat(out);
}

describe('sealed bodies in pieces of any size', () => {
  for (const size of [0, 1, SEALED_CHUNK_BYTES - 1, SEALED_CHUNK_BYTES, SEALED_CHUNK_BYTES + 1, 3 * SEALED_CHUNK_BYTES + 12_345]) {
    it(`${size} bytes, read in pieces of 1 to 7, of up to 100 KiB, and as TLS records cut them`, async () => {
      const body = randomBytes(size);
      for (const [source, wire] of [[7, 5], [100_000, 70_000], [16_384, 16_384 + 29]] as const) {
        assert.ok((await sealAndOpen(body, source, wire)).equals(body), `pieces ${source}/${wire}`);
      }
    });
  }
  it('a bit flipped in any chunk, its prefix or its tag is refused', async () => {
    const body = randomBytes(2 * SEALED_CHUNK_BYTES + 100);
    for (const at of [2, 10, SEALED_CHUNK_BYTES + 4 + 16 + 7, 2 * (SEALED_CHUNK_BYTES + 20) + 50]) {
      await assert.rejects(sealAndOpen(body, 4096, 3000, (wire) => (wire[at] ^= 1)), (e: unknown) => e instanceof SealedBodyError, `bit at ${at}`);
    }
  });
});
