/**
 * `blindbox verify-evidence <evidence.json>`: re-verifies an exported attestation evidence file offline: the document
 * at its own time, against the trusted roots, with the PCRs of the policy it records, and the certificate presented
 * on the attested connection carrying exactly the attested key; the same for every other enclave the file lists (a
 * session behind a balancer attests one per key), any failure failing the whole file.
 */
import { rejectedReport, verifiedReport } from '../core/attestation/report.js';
import { AttestationError, ChannelError } from '../core/errors.js';
import { MAX_EVIDENCE_FILE_BYTES, parseEvidenceFile, verifyEvidence } from '../core/evidence/file.js';
import { readFileCapped } from '../core/util/read-capped.js';
import { jsonText, quoteServerText } from '../shared/text.js';
import { UsageError } from './args.js';
import { asUsage, trustedRoots } from './client-args.js';
import { verifyEvidenceSpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK } from './exit-codes.js';
import { exitCodeFor } from './failure-exit.js';
import { formatRejected, formatVerified } from './summary.js';

export async function verifyEvidenceCommand(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(verifyEvidenceSpec, argv);
  if (positionals.length !== 1) throw new UsageError('verify-evidence takes exactly one evidence file');
  const file = positionals[0]!;
  const parsed = await asUsage(async () => parseEvidenceFile((await readFileCapped(file, MAX_EVIDENCE_FILE_BYTES, 'evidence file')).toString('utf8'), file));
  const roots = await trustedRoots(values['trust-root']);
  try {
    const { attestation, binding, policyPcrs, others } = verifyEvidence(parsed, roots);
    const policy = parsed.evidence.policy?.name ?? '(none)';
    out.write(
      values.json
        ? jsonText({
            ...verifiedReport(attestation),
            policy,
            policyPcrs: Object.keys(policyPcrs),
            tlsBinding: binding,
            others: others.map((o) => ({ ...verifiedReport(o.attestation), tlsBinding: o.binding })),
          }) + '\n'
        : formatVerified(attestation, policyPcrs, policy, [
            ['evidence', file],
            // The file's words, not ours: quoted, one printable line.
            ['server', typeof parsed.evidence.server === 'string' ? quoteServerText(parsed.evidence.server, 300) : '(none)'],
          ]) +
            `\n  TLS binding  the presented certificate (SHA-256 ${binding.presentedCertificateSha256}) carries the attested key (SHA-256 ${binding.attestedKeySha256})\n` +
            others
              .map((o) => `  also        enclave ${quoteServerText(o.attestation.moduleId, 120)}, PCR0 ${o.attestation.pcrs[0]!.slice(0, 16)}…, key SHA-256 ${o.binding.attestedKeySha256}: document authentic at its time, policy PCRs match, certificate carries the key\n`)
              .join(''),
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof AttestationError || err instanceof ChannelError)) throw err;
    out.write(values.json ? jsonText(rejectedReport(err)) + '\n' : formatRejected(err));
    return exitCodeFor(err);
  }
}
