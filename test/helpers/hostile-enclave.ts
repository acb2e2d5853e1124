/**
 * An enclave that attacks the reader's terminal: a chain that verifies against its own (simulation) root, whose
 * certificate subjects and module id hold `words`, served by a real TLS server; and receipts signed by that chain
 * with words of its choosing in the signed `user_data`. Everything it says is authentic, and hostile.
 */
import { randomBytes } from 'node:crypto';
import { cborEncoder } from '../../src/shared/cbor.js';
import { sha256Hex } from '../../src/core/index.js';
import { toPem } from '../../src/server/attestation/certificates.js';
import { issueAttestationDocument } from '../../src/server/attestation/document.js';
import { createNitroChain, type NitroChain } from '../../src/server/attestation/nitro-chain.js';
import { createTlsIdentity } from '../../src/server/tls-identity.js';
import { RECEIPT_FILE_FORMAT, type ReceiptFile } from '../../src/core/receipt/file.js';
import { RECEIPT_VERSION, receiptToMap, type ReceiptContent } from '../../src/protocol/receipt.js';
import { startLyingServer, type RunningServer } from '../../support/servers.js';

/** PCRs 0..15, 48 bytes each: PCR0 random, the rest zero, as a simulation measures. */
const PCRS: ReadonlyMap<number, Uint8Array> = new Map(Array.from({ length: 16 }, (_, i) => [i, i === 0 ? new Uint8Array(randomBytes(48)) : new Uint8Array(48)]));

export interface HostileEnclave extends RunningServer {
  /** The PEM of its root, to trust it as a user trusts a simulation. */
  readonly rootPem: string;
  readonly chain: NitroChain;
  /** A document of this enclave (module id and subjects hostile) for `nonce` and `userData`. */
  document(nonce: Uint8Array | null, userData?: Uint8Array | null): Promise<Uint8Array>;
  /** A receipt file, genuinely signed, binding `audio` and `transcript` with `words` in its text fields. */
  receipt(audio: Buffer, transcript: Buffer, fields: Partial<Pick<ReceiptContent, 'endpoint' | 'engine' | 'model'>>): Promise<ReceiptFile>;
}

/** Starts an enclave whose certificate subjects (root and leaf) and module id carry `words`. */
export async function startHostileEnclave(words: string): Promise<HostileEnclave> {
  const chain = await createNitroChain(new Date(), { root: { subject: [['CN', `root ${words}`]] }, leaf: { subject: [['O', words], ['CN', 'leaf']] } });
  const identity = await createTlsIdentity();
  const document = (nonce: Uint8Array | null, userData: Uint8Array | null = null, publicKey: Uint8Array | null = identity.spki) =>
    issueAttestationDocument({ moduleId: `i-${words}`, timestamp: Date.now(), pcrs: PCRS, nonce, publicKey, userData }, chain);
  const server = await startLyingServer(identity, (nonce) => document(Buffer.from(nonce, 'hex')));
  return {
    ...server,
    rootPem: toPem(chain.root.der),
    chain,
    document: (nonce, userData) => document(nonce, userData),
    async receipt(audio, transcript, fields) {
      const content: ReceiptContent = {
        version: RECEIPT_VERSION,
        audioSha256: new Uint8Array(Buffer.from(sha256Hex(audio), 'hex')),
        audioBytes: audio.length,
        transcriptSha256: new Uint8Array(Buffer.from(sha256Hex(transcript), 'hex')),
        format: 'text',
        endpoint: '/v1/audio/transcriptions',
        engine: 'pocketsphinx',
        model: 'en-us',
        requestTime: Date.now(),
        ...fields,
      };
      const nonce = randomBytes(32);
      const doc = await document(nonce, new Uint8Array(cborEncoder.encode(receiptToMap(content))), identity.spki);
      return {
        format: RECEIPT_FILE_FORMAT,
        document: Buffer.from(doc).toString('base64'),
        server: server.url,
        audio: { name: 'speech.wav', sha256: sha256Hex(audio), bytes: audio.length },
        transcript: { format: 'text', sha256: sha256Hex(transcript) },
        requestNonce: nonce.toString('hex'),
        connectionKeySha256: sha256Hex(identity.spki),
        verifiedAt: new Date().toISOString(),
        policy: null,
      };
    },
  };
}
