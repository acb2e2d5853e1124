/**
 * `blindbox verify-receipt <receipt.json> --audio <file> --transcript <file>`: checks, offline and at the document's
 * own time, that an enclave with the expected code signed for exactly this audio and this transcript, and says so.
 */
import { rejectedReport } from '../core/attestation/report.js';
import { AttestationError, ReceiptError } from '../core/errors.js';
import { MAX_RECEIPT_FILE_BYTES, parseReceiptFile } from '../core/receipt/file.js';
import { receiptStatement, verifyReceiptFile, type VerifiedReceiptFile } from '../core/receipt/offline.js';
import { sha256FileHex } from '../core/util/sha256.js';
import { escapeControls, jsonText, oneLine, quoteServerText } from '../shared/text.js';
import { UsageError } from './args.js';
import { asUsage, readJudgedFile } from './client-args.js';
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
    const source: PolicySource = trust.pcrsGiven ? { given: values.policy === undefined ? undefined : trust.policy.name } : { claimed: receipt.policy?.name };
    out.write(values.json ? jsonText(receiptReport(verified, source)) + '\n' : formatReceipt(verified, source, values.audio, values.transcript));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof AttestationError || err instanceof ReceiptError)) throw err;
    out.write(values.json ? jsonText(rejectedReport(err)) + '\n' : formatRejected(err));
    return EXIT_REJECTED;
  }
}

/**
 * Where the enforced PCRs came from: the command line (`--pcr`, or `--policy` and its name), or the receipt file itself,
 * whose policy, name included, is an unauthenticated claim anyone could have edited (its PCRs were still held to the
 * signed document, so they say only that the file agrees with itself).
 */
type PolicySource = { readonly given: string | undefined } | { readonly claimed: string | undefined };

/** The `policy` line's words for `source`, after "PCRn match". */
function policyWords(source: PolicySource): string {
  if ('given' in source) return source.given === undefined ? 'the given PCRs' : `the given policy ${quoteServerText(source.given, 120)}`;
  const name = source.claimed === undefined ? '' : ` (it names them ${quoteServerText(source.claimed, 120)})`;
  return `the PCRs the receipt file records${name}: an UNVERIFIED claim, anyone could have written it (give --pcr or --policy)`;
}

function receiptReport(v: VerifiedReceiptFile, source: PolicySource) {
  const a = v.attestation;
  return {
    ok: true,
    statement: receiptStatement(v),
    moduleId: a.moduleId,
    timestamp: a.timestamp,
    pcrs: { ...a.pcrs },
    enforcedPcrs: Object.keys(v.enforcedPcrs).map(Number).sort((x, y) => x - y),
    // The recorded name is a claim of the file, never a verified policy: reported as such, or not at all.
    ...('given' in source ? { policySource: 'given', ...(source.given === undefined ? {} : { policyName: source.given }) } : { policySource: 'recorded', claimedPolicyName: source.claimed ?? null }),
    root: { label: a.root.label, sha256: a.root.sha256, isAwsNitroRoot: a.root.isAwsNitroRoot },
    publicKey: a.publicKey,
    nonce: a.nonce,
    ...v.content,
  };
}

function formatReceipt(v: VerifiedReceiptFile, source: PolicySource, audio: string, transcript: string): string {
  const a = v.attestation;
  const c = v.content;
  const checked = Object.keys(v.enforcedPcrs).map((i) => `PCR${escapeControls(i)}`);
  const anchor = a.root.isAwsNitroRoot ? 'AWS Nitro Enclaves Root G1' : `${oneLine(a.root.label, 300)} (NOT an AWS root: simulation, not confidential)`;
  return [
    `VERIFIED  ${receiptStatement(v)}`,
    '',
    `  audio       ${oneLine(audio, 300)} (${c.audioBytes} bytes, SHA-256 ${c.audioSha256})`,
    `  transcript  ${oneLine(transcript, 300)} (${c.format}, SHA-256 ${c.transcriptSha256})`,
    // The enclave signed these words, but they are its words, not ours: quoted, one line each.
    `  engine      ${quoteServerText(c.engine, 80)}, model ${quoteServerText(c.model, 80)} (via ${quoteServerText(c.endpoint, 80)})`,
    `  enclave     ${quoteServerText(a.moduleId, 120)}; chain ends in ${anchor}`,
    `  policy      ${checked.length ? `${checked.join(', ')} match ${policyWords(source)}` : 'NO PCR was required: the enclave\'s code was not checked against any expectation (give --pcr or --policy)'}`,
    `  requested   ${new Date(c.requestTime).toISOString()}; signed ${new Date(a.timestamp).toISOString()} (verified at that time)`,
    '',
  ].join('\n');
}
