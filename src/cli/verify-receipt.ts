/**
 * `blindbox verify-receipt <receipt.json> --audio <file> --transcript <file>`: checks, offline and at the document's
 * own time, that an enclave with the expected code signed for exactly this audio and this transcript, and says so.
 */
import {
  AttestationError,
  MAX_RECEIPT_FILE_BYTES,
  parseReceiptFile,
  receiptStatement,
  ReceiptError,
  rejectedReport,
  sha256FileHex,
  verifyReceiptFile,
  type VerifiedReceiptFile,
} from '../core/index.js';
import { asUsage, readJudgedFile, UsageError } from './args.js';
import { trustOptions } from './attestation-flags.js';
import { verifyReceiptSpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK, EXIT_REJECTED } from './exit-codes.js';
import { formatRejected } from './summary.js';

export async function verifyReceiptCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(verifyReceiptSpec, argv);
  if (positionals.length !== 1) throw new UsageError('verify-receipt takes exactly one receipt file');
  if (values.audio === undefined || values.transcript === undefined) throw new UsageError('verify-receipt needs --audio <file> and --transcript <file>');
  const [file] = positionals as [string];
  const read = await readJudgedFile(file, MAX_RECEIPT_FILE_BYTES, 'receipt file', (said) => new ReceiptError('RECEIPT_MALFORMED', `${said}, more than any receipt.`));
  const trust = await trustOptions(values);
  const audioSha256 = await asUsage(sha256FileHex(values.audio, 'audio file'));
  const transcriptSha256 = await asUsage(sha256FileHex(values.transcript, 'transcript file'));
  try {
    if (read instanceof ReceiptError) throw read;
    const receipt = parseReceiptFile(read.toString('utf8'), JSON.stringify(file));
    const verified = await asUsage(() => verifyReceiptFile(receipt, { roots: trust.roots, expectedPcrs: trust.pcrsGiven ? trust.policy.pcrs : undefined, audioSha256, transcriptSha256 }));
    const policySource = trust.pcrsGiven ? 'given' : `recorded policy ${JSON.stringify(receipt.policy?.name ?? '(none)')}`;
    out.write(values.json ? JSON.stringify(receiptReport(verified, policySource)) + '\n' : formatReceipt(verified, policySource, values.audio, values.transcript));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof AttestationError || err instanceof ReceiptError)) throw err;
    out.write(values.json ? JSON.stringify(rejectedReport(err)) + '\n' : formatRejected(err));
    return EXIT_REJECTED;
  }
}

function receiptReport(v: VerifiedReceiptFile, policySource: string) {
  const a = v.attestation;
  return {
    ok: true,
    statement: receiptStatement(v),
    moduleId: a.moduleId,
    timestamp: a.timestamp,
    pcrs: { ...a.pcrs },
    enforcedPcrs: Object.keys(v.enforcedPcrs).map(Number).sort((x, y) => x - y),
    policySource,
    root: { label: a.root.label, sha256: a.root.sha256, isAwsNitroRoot: a.root.isAwsNitroRoot },
    publicKey: a.publicKey,
    nonce: a.nonce,
    ...v.content,
  };
}

function formatReceipt(v: VerifiedReceiptFile, policySource: string, audio: string, transcript: string): string {
  const a = v.attestation;
  const c = v.content;
  const checked = Object.keys(v.enforcedPcrs).map((i) => `PCR${i}`);
  const anchor = a.root.isAwsNitroRoot ? 'AWS Nitro Enclaves Root G1' : `${a.root.label} (NOT an AWS root: simulation, not confidential)`;
  return [
    `VERIFIED  ${receiptStatement(v)}`,
    '',
    `  audio       ${audio} (${c.audioBytes} bytes, SHA-256 ${c.audioSha256})`,
    `  transcript  ${transcript} (${c.format}, SHA-256 ${c.transcriptSha256})`,
    `  engine      ${c.engine}, model ${c.model} (via ${c.endpoint})`,
    `  enclave     ${a.moduleId}; chain ends in ${anchor}`,
    `  policy      ${checked.length ? `${checked.join(', ')} match the ${policySource}` : 'NO PCR was required: the enclave\'s code was not checked against any expectation (give --pcr or --policy)'}`,
    `  requested   ${new Date(c.requestTime).toISOString()}; signed ${new Date(a.timestamp).toISOString()} (verified at that time)`,
    '',
  ].join('\n');
}
