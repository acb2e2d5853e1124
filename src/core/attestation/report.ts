/**
 * The JSON shape of a verification result, shared by the CLI (`--json`), the
 * extension's evidence export and tests. Other tools depend on it exactly.
 */
import { serverSaid, type BlindBoxError } from '../errors.js';
import type { CertificateSummary } from './chain.js';
import type { VerifiedAttestation } from './verify.js';

/** The fields of a `CertificateSummary` a report carries (the report's shape is fixed; the summary may grow). */
const REPORTED_CERTIFICATE_FIELDS = ['subject', 'issuer', 'notBefore', 'notAfter', 'sha256'] as const;

/** One certificate in a report, root first: derived from the one certificate type, `CertificateSummary`. */
export type ChainEntryReport = Pick<CertificateSummary, (typeof REPORTED_CERTIFICATE_FIELDS)[number]>;

export interface VerifiedReport {
  readonly ok: true;
  readonly moduleId: string;
  readonly timestamp: number;
  readonly digest: 'SHA384';
  readonly pcrs: Readonly<Record<string, string>>;
  readonly publicKey: string | null;
  readonly userData: string | null;
  readonly nonce: string | null;
  readonly chain: readonly ChainEntryReport[];
}

export interface RejectedReport {
  readonly ok: false;
  readonly code: string;
  readonly message: string;
  /** The server's own words with its refusal (`CODE: message`), unauthenticated; absent when it said nothing. */
  readonly serverSaid?: string;
}

/** The report of a verified document. */
export function verifiedReport(v: VerifiedAttestation): VerifiedReport {
  return {
    ok: true,
    moduleId: v.moduleId,
    timestamp: v.timestamp,
    digest: v.digest,
    pcrs: { ...v.pcrs },
    publicKey: v.publicKey,
    userData: v.userData,
    nonce: v.nonce,
    chain: v.chain.map(chainEntryReport),
  };
}

/** The report of a rejection; only errors the core raised on purpose carry their code. */
export function rejectedReport(err: BlindBoxError): RejectedReport {
  const said = serverSaid(err);
  return { ok: false, code: err.code, message: err.message, ...(said ? { serverSaid: said } : {}) };
}

function chainEntryReport(c: CertificateSummary): ChainEntryReport {
  return Object.fromEntries(REPORTED_CERTIFICATE_FIELDS.map((field) => [field, c[field]])) as ChainEntryReport;
}
