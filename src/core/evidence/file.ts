/**
 * The attestation evidence file (`blindbox-attestation-evidence/1`): what the extension exports, and what
 * `blindbox verify-evidence` checks offline. The format is owned here, in the core, so the writer (the extension) and
 * the checker (the CLI) read one definition.
 */
import { X509Certificate } from 'node:crypto';
import type { VerifiedReport } from '../attestation/report.js';
import { parseCoseSign1 } from '../attestation/cose.js';
import { parsePayload } from '../attestation/payload.js';
import type { TrustedRoot } from '../attestation/roots.js';
import { verifyAttestation, type VerifiedAttestation } from '../attestation/verify.js';
import { ChannelError, InputError } from '../errors.js';
import { MAX_DOCUMENT_BYTES } from '../../protocol/limits.js';
import { bindTls, spkiOf, type TlsBinding } from '../transport/attested-enclave.js';
import { quoteServerText, withoutBom } from '../../shared/text.js';

export const EVIDENCE_FORMAT = 'blindbox-attestation-evidence/1';

/** Most enclaves one evidence file may list (a session behind a balancer attests one per key it meets). */
export const MAX_EVIDENCE_ENCLAVES = 64;

/**
 * Largest evidence file read: documents in base64 (a real one is about 4.5 KiB, 64 KiB at most), certificates and a
 * little JSON, for the top level and every listed enclave.
 */
export const MAX_EVIDENCE_FILE_BYTES = 1024 * 1024;

export interface AttestationEvidence {
  readonly format: typeof EVIDENCE_FORMAT;
  readonly exportedAt: string;
  readonly server: string | null;
  /** `message` is ours; `serverSaid` is what the server said with its refusal (unauthenticated), or null. */
  readonly verdict: { readonly ok: boolean; readonly simulation: boolean; readonly code: string | null; readonly message: string | null; readonly serverSaid: string | null };
  /** When the attestation was verified (ISO-8601); null when nothing was verified. */
  readonly verifiedAt: string | null;
  readonly policy: { readonly name: string; readonly source: string; readonly pcrs: Readonly<Record<string, string>>; readonly maxAgeSeconds: number } | null;
  /** The verified document's fields (the CLI's `--json` shape) and the root it chains to. */
  readonly attestation: (VerifiedReport & { readonly documentSha256: string; readonly root: { readonly label: string; readonly sha256: string; readonly isAwsNitroRoot: boolean } }) | null;
  /** The raw CBOR document, base64; null when the core did not hand it out. */
  readonly document: string | null;
  readonly presentedCertificate: { readonly pem: string; readonly sha256: string } | null;
  /** The TLS binding as established on the attested connection; null when nothing was attested. */
  readonly tlsBinding: TlsBinding | null;
  /** Set for a failure whose document was fetched again without PCR expectations, for diagnosis only. */
  readonly diagnosticOnly: boolean;
  /**
   * Every enclave the session attested (a fleet behind a balancer has one per key), most recent first, each with the
   * same fields as above; the top-level fields are the first of them. Empty when nothing was verified.
   */
  readonly enclaves: readonly EnclaveEvidence[];
}

/** The evidence of one attested enclave. */
export interface EnclaveEvidence {
  readonly verifiedAt: string;
  readonly attestation: NonNullable<AttestationEvidence['attestation']>;
  readonly document: string;
  readonly presentedCertificate: NonNullable<AttestationEvidence['presentedCertificate']>;
  readonly tlsBinding: TlsBinding;
}

/** One enclave's checkable material: its document, the certificate presented beside it, and the binding the file records. */
export interface ParsedEnclave {
  readonly document: Uint8Array;
  readonly certificate: X509Certificate;
  readonly recorded: TlsBinding | null;
}

/** An evidence file with something to re-verify: the top-level enclave, then every other one the file lists. */
export interface ParsedEvidence extends ParsedEnclave {
  readonly evidence: AttestationEvidence;
  /** The `enclaves` entries other than the top-level one (same document), in file order. */
  readonly others: readonly ParsedEnclave[];
}

/** What re-verifying one enclave proved. */
export interface VerifiedEnclave {
  readonly attestation: VerifiedAttestation;
  readonly binding: TlsBinding;
}

/** What re-verifying an evidence file proved: the top-level enclave, every other listed one, under the recorded policy. */
export interface VerifiedEvidence extends VerifiedEnclave {
  readonly others: readonly VerifiedEnclave[];
  /** The PCRs the recorded policy required, all checked. */
  readonly policyPcrs: Readonly<Record<string, string>>;
}

/** Reads an evidence file's JSON. Throws `InputError` `INVALID_EVIDENCE` naming `source` when it holds no checkable attestation. */
export function parseEvidenceFile(text: string, source: string): ParsedEvidence {
  const bad = (detail: string) => new InputError('INVALID_EVIDENCE', `the evidence file ${JSON.stringify(source)} ${detail}`);
  let json: unknown;
  try {
    json = JSON.parse(withoutBom(text));
  } catch {
    throw bad('is not valid JSON');
  }
  const e = json as AttestationEvidence;
  if (typeof e !== 'object' || e === null || e.format !== EVIDENCE_FORMAT) throw bad(`is not a ${EVIDENCE_FORMAT} file`);
  if (typeof e.document !== 'string') throw bad(`holds no attestation document (it records ${typeof e.verdict?.code === 'string' ? quoteServerText(e.verdict.code, 80) : 'no verification'})`);
  const pcrs = e.policy?.pcrs;
  if (pcrs !== undefined && pcrs !== null && (typeof pcrs !== 'object' || !Object.values(pcrs).every((v) => typeof v === 'string'))) throw bad('has a malformed policy');
  const top = parseEnclave(e, 'its', bad);
  const listed = e.enclaves ?? [];
  if (!Array.isArray(listed) || listed.length > MAX_EVIDENCE_ENCLAVES) throw bad(`lists its enclaves as something other than an array of at most ${MAX_EVIDENCE_ENCLAVES}`);
  const others = listed
    .map((entry, i) => parseEnclave(entry as UncheckedEnclave, `enclave ${i + 1}'s`, bad))
    .filter((entry) => Buffer.compare(entry.document, top.document) !== 0);
  return { evidence: e, ...top, others };
}

/** An enclave's fields as read from JSON, before they are checked. */
type UncheckedEnclave = { readonly document?: unknown; readonly presentedCertificate?: { readonly pem?: unknown } | null; readonly tlsBinding?: TlsBinding | null };

function parseEnclave(e: UncheckedEnclave | null, whose: string, bad: (detail: string) => InputError): ParsedEnclave {
  if (typeof e !== 'object' || e === null) throw bad(`holds a malformed entry for ${whose.replace(/'s$/, '')}`);
  if (typeof e.document !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(e.document)) throw bad(`holds no base64 document as ${whose} document`);
  const document = new Uint8Array(Buffer.from(e.document, 'base64'));
  if (document.length === 0 || document.length > MAX_DOCUMENT_BYTES) throw bad(`holds an empty or oversized document as ${whose} document`);
  if (typeof e.presentedCertificate?.pem !== 'string') throw bad(`holds no presented certificate as ${whose} certificate`);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(e.presentedCertificate.pem);
  } catch (err) {
    throw new InputError('INVALID_EVIDENCE', `the evidence file holds ${whose} presented certificate, which does not parse`, { cause: err });
  }
  return { document, certificate, recorded: e.tlsBinding ?? null };
}

/**
 * Re-verifies evidence offline: each listed enclave's document at its own time against `roots` with the recorded
 * policy's PCRs, and its presented certificate's key equal to the attested one (`TLS_BINDING_MISMATCH` otherwise).
 * Throws `AttestationError` or `ChannelError` for the first enclave that fails.
 */
export function verifyEvidence(parsed: ParsedEvidence, roots: readonly TrustedRoot[]): VerifiedEvidence {
  const policyPcrs = parsed.evidence.policy?.pcrs ?? {};
  return { ...verifyEnclave(parsed, roots, policyPcrs), others: parsed.others.map((enclave) => verifyEnclave(enclave, roots, policyPcrs)), policyPcrs };
}

function verifyEnclave(enclave: ParsedEnclave, roots: readonly TrustedRoot[], policyPcrs: Readonly<Record<string, string>>): VerifiedEnclave {
  const attestation = verifyAttestation(enclave.document, { now: new Date(parsePayload(parseCoseSign1(enclave.document).payload).timestamp), roots, expectedPcrs: policyPcrs });
  const binding = bindTls(attestation, enclave.certificate, spkiOf(enclave.certificate));
  // The file's readable copies must say what was just proved, or a reader of the JSON would be misled.
  const recorded = enclave.recorded;
  if (recorded && (recorded.attestedKeySha256 !== binding.attestedKeySha256 || recorded.presentedCertificateSha256 !== binding.presentedCertificateSha256)) {
    throw new ChannelError('TLS_BINDING_MISMATCH', 'The evidence file records another TLS binding than its document and certificate prove: the file was edited.');
  }
  return { attestation, binding };
}
