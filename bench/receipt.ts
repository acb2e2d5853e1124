/**
 * `node out/bench/receipt.js`: what a transcript receipt costs, against the transcription it proves. Prints figures
 * only; it never asserts timing.
 *
 *   (1) server   one receipt as the server issues it (SHA-256 of the body, the CBOR map, a fresh simulation document
 *                signed with ES384, base64), per request
 *   (2) client   verifying one receipt as the client does before it returns a transcript (chain, signature, PCRs,
 *                nonce, key, both hashes), warm (the chain's certificates were seen with the session's attestation)
 *   (3) whole    one transcription of ≈ 5 s of flite speech through the reference server (attested session,
 *                PocketSphinx), receipt included: the yardstick for (1) and (2)
 */
import { readFile } from 'node:fs/promises';
import { connect, sha256Hex, verifyReceiptDocument, fileSource } from '../src/core/index.js';
import { createPocketSphinxEngine } from '../src/server/engine/pocketsphinx/engine.js';
import { receiptIssuer } from '../src/server/http/receipt.js';
import { rootsTrusting, startSimulationServer } from '../support/servers.js';
import { SCRIPT, scratchDir, speak } from '../support/speech.js';
import { ms, quantile, table } from './stats.js';
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 200);
const TRANSCRIPTIONS = Number(process.env.BENCH_TRANSCRIPTIONS ?? 5);

const scratch = await scratchDir();
const server = await startSimulationServer({ engine: await createPocketSphinxEngine({ workers: 1 }) });
try {
  const wav = await speak(scratch.dir, 'slt', SCRIPT.slt.slice(0, 1).join(' '), 'slt');
  const audio = await readFile(wav);
  const session = await connect(server.url, { roots: rootsTrusting(server) });

  // (3) the yardstick: whole transcriptions, receipt included.
  await session.transcribe(await fileSource(wav), { format: 'text' });
  const whole: number[] = [];
  let last;
  for (let i = 0; i < TRANSCRIPTIONS; i++) {
    const start = performance.now();
    last = await session.transcribe(await fileSource(wav), { format: 'verbose_json' });
    whole.push(performance.now() - start);
  }
  const result = last!;

  // (1) the server's part: the issuer exactly as the handler calls it, on a socket that presents the server's certificate.
  const certificate = new X509Certificate(session.attested.presentedCertificate.raw);
  const socket = { getX509Certificate: () => certificate } as unknown as IncomingMessage['socket'];
  const issuer = receiptIssuer(server.provider, { engine: 'pocketsphinx', model: 'bench' });
  const body = Buffer.from(result.body);
  const facts = { audioSha256: Buffer.from(sha256Hex(audio), 'hex'), audioBytes: audio.length, body, format: 'verbose_json' as const, endpoint: '/v1/audio/transcriptions', requestTime: Date.now(), nonce: Buffer.alloc(32, 7) };
  for (let i = 0; i < 20; i++) await issuer.issue(socket, facts);
  const issue: number[] = [];
  let header = '';
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    header = await issuer.issue(socket, facts);
    issue.push(performance.now() - start);
  }

  // (2) the client's part, on the receipt of the last transcription.
  const document = new Uint8Array(Buffer.from(result.receipt.file.document, 'base64'));
  const enclave = result.enclave;
  const expect = {
    now: new Date(),
    roots: [enclave.attestation.root],
    expectedPcrs: enclave.attestation.pcrs,
    nonce: Buffer.from(result.receipt.file.requestNonce!, 'hex'),
    publicKeySha256: enclave.binding.presentedSpkiSha256,
    moduleId: enclave.attestation.moduleId,
    format: 'verbose_json' as const,
    audioSha256: sha256Hex(audio),
    transcriptSha256: sha256Hex(result.body),
  };
  for (let i = 0; i < 20; i++) verifyReceiptDocument(document, expect);
  const verify: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    verifyReceiptDocument(document, expect);
    verify.push(performance.now() - start);
  }
  await session.close();

  const p50 = (v: number[]) => quantile(v, 0.5);
  const share = (part: number, all: number) => `${((100 * part) / all).toFixed(2)} % (1 : ${Math.round(all / part)})`;
  const yardstick = p50(whole);
  console.log(`receipt cost against one transcription of ${(audio.length / 32000).toFixed(1)} s of speech (${TRANSCRIPTIONS} transcriptions, ${REPEATS} receipts; p50)`);
  console.log(
    table([
      ['part', 'p50', 'p95', 'share of a transcription'],
      ['(1) server: issue one receipt', ms(p50(issue)), ms(quantile(issue, 0.95)), share(p50(issue), yardstick)],
      ['(2) client: verify one receipt', ms(p50(verify)), ms(quantile(verify, 0.95)), share(p50(verify), yardstick)],
      ['(3) whole transcription', ms(yardstick), ms(quantile(whole, 0.95)), '100 %'],
    ]),
  );
  console.log(`receipt header: ${header.length} bytes of base64 (document ${document.length} bytes); Node's and undici's header limit is 16384 bytes in all`);
} finally {
  await server.close();
  await scratch.dispose();
}
