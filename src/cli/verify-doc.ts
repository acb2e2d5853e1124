/** `blindbox verify-doc <file>`: verify a saved attestation document. */
import { verifyAttestation } from '../core/attestation/verify.js';
import { rejectedReport, verifiedReport } from '../core/attestation/report.js';
import { AttestationError, InputError } from '../core/errors.js';
import { jsonText } from '../shared/text.js';
import { MAX_DOCUMENT_BYTES } from '../protocol/limits.js';
import { parseSeconds, parseTime, UsageError } from './args.js';
import { parsePcrArgs, readJudgedFile, trustedRoots } from './client-args.js';
import { verifyDocSpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK, EXIT_REJECTED } from './exit-codes.js';
import { formatRejected, formatVerified } from './summary.js';


export async function verifyDoc(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(verifyDocSpec, argv);
  if (positionals.length !== 1) throw new UsageError('verify-doc takes exactly one document file');
  // The verifier refuses documents over MAX_DOCUMENT_BYTES anyway (MALFORMED_CBOR): reading more would only cost memory.
  const bytes = await readJudgedFile(positionals[0]!, MAX_DOCUMENT_BYTES, 'attestation document', (said) => new AttestationError('MALFORMED_CBOR', `${said}, more than any attestation document.`));
  const expectedPcrs = parsePcrArgs(values.pcr);
  const options = {
    now: values.at === undefined ? new Date() : parseTime(values.at),
    roots: await trustedRoots(values['trust-root']),
    expectedPcrs,
    expectedNonce: values.nonce,
    maxAgeMs: parseSeconds('--max-age', values['max-age']),
  };
  try {
    if (bytes instanceof AttestationError) throw bytes;
    const verified = verifyAttestation(bytes, options);
    out.write(values.json ? jsonText(verifiedReport(verified)) + '\n' : formatVerified(verified, expectedPcrs));
    return EXIT_OK;
  } catch (err) {
    if (err instanceof InputError) throw new UsageError(err.message, { cause: err });
    if (!(err instanceof AttestationError)) throw err;
    out.write(values.json ? jsonText(rejectedReport(err)) + '\n' : formatRejected(err));
    return EXIT_REJECTED;
  }
}
