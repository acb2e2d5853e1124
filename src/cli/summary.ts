/** Human-readable output of the CLI: the verdict, a PCR table and the chain. */
import { ChannelError, isUntrustedFailure, ReceiptError, serverSaid, type BlindBoxError } from '../core/errors.js';
import { receiptHashLines } from '../core/receipt/verify.js';
import type { VerifiedAttestation } from '../core/attestation/verify.js';
import { formatDuration } from '../core/util/format-duration.js';
import { escapeControls, oneLine, quoteServerText } from '../shared/text.js';

/**
 * A readable summary of a verified document; `expected` marks which PCRs a policy checked. The verdict line comes
 * first, leading with SIMULATION when the chain does not end in AWS's root, then naming the policy enforced
 * (`policyName`), if any; `about` rows (label, value: the server, the file) open the details below it. Everything the
 * document says in words (module id, certificate subjects) and the policy's name are foreign: quoted, one line each.
 */
export function formatVerified(v: VerifiedAttestation, expected: Readonly<Record<number, string>> = {}, policyName?: string, about: readonly (readonly [string, string])[] = []): string {
  const lines: string[] = [];
  const anchor = v.root.isAwsNitroRoot ? 'AWS Nitro Enclaves Root G1' : `${oneLine(v.root.label, 300)}, NOT an AWS root: not confidential`;
  // A policy's name comes from a file (a policy, an evidence file): one printable line, quoted.
  const policy = policyName === undefined ? '' : `policy ${quoteServerText(policyName, 120)}: `;
  lines.push(`${v.root.isAwsNitroRoot ? '' : 'SIMULATION  '}VERIFIED  ${policy}attestation document is authentic (chain ends in ${anchor})`);
  lines.push('');
  for (const [label, value] of about) lines.push(`  ${label.padEnd(10)} ${oneLine(value, 300)}`);
  lines.push(`  module     ${quoteServerText(v.moduleId, 120)}`);
  lines.push(`  issued     ${new Date(v.timestamp).toISOString()} (${formatDuration(v.verifiedAt - v.timestamp)} before ${new Date(v.verifiedAt).toISOString()})`);
  lines.push(`  digest     ${v.digest}`);
  lines.push(`  nonce      ${short(v.nonce)}`);
  lines.push(`  user_data  ${short(v.userData)}`);
  lines.push(`  public_key ${short(v.publicKey)}`);
  lines.push('');
  lines.push('  PCR  value' + ' '.repeat(92) + 'policy');
  for (const [index, value] of Object.entries(v.pcrs)) {
    const policy = Object.hasOwn(expected, index) ? 'match' : '-';
    lines.push(`  ${escapeControls(index).padStart(3)}  ${escapeControls(value).padEnd(96)}  ${policy}`);
  }
  lines.push('');
  lines.push('  chain (root → leaf)');
  v.chain.forEach((c, i) => {
    lines.push(`  ${i}. ${quoteServerText(c.subject, 300)}`);
    lines.push(`     valid ${c.notBefore} → ${c.notAfter}   ${oneLine(c.keyAlgorithm, 40)}   sha256 ${c.sha256}`);
  });
  return lines.join('\n') + '\n';
}

/**
 * One line for a failure: what happened (REJECTED: the server is not provably the attested enclave; UNREACHABLE: it
 * could not be reached or did not answer in time; FAILED: it answered with an error; CANCELLED), the code, then the
 * sentence (escaped: it may quote a certificate, a file or a document); what the server said, if anything, quoted on
 * its own line.
 */
export function formatRejected(err: BlindBoxError): string {
  const word = failureWord(err);
  const said = serverSaid(err);
  const indent = ' '.repeat(word.length + 2);
  const hashes = err instanceof ReceiptError && err.hashes ? receiptHashLines(err.hashes).map((line) => `${indent}${line}\n`).join('') : '';
  return `${word}  ${oneLine(err.code, 64)}: ${escapeControls(err.message)}\n${hashes}${said ? `${indent}server said (unverified): ${quoteServerText(said)}\n` : ''}`;
}

/** The verdict word of `formatRejected`. */
export function failureWord(err: BlindBoxError): 'REJECTED' | 'UNREACHABLE' | 'FAILED' | 'CANCELLED' {
  if (isUntrustedFailure(err)) return 'REJECTED';
  if (err instanceof ChannelError && (err.code === 'SERVER_UNREACHABLE' || err.code === 'TIMEOUT')) return 'UNREACHABLE';
  if (err instanceof ChannelError && err.code === 'CANCELLED') return 'CANCELLED';
  return 'FAILED';
}

function short(hex: string | null): string {
  if (hex === null) return '(none)';
  const bytes = hex.length / 2;
  return `${hex.length > 64 ? hex.slice(0, 64) + '…' : hex} (${bytes} bytes)`;
}
