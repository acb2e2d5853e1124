/**
 * The one complete evidence value for an attested enclave, made where the checks are enforced (session.ts) and only
 * rendered elsewhere: the extension's status bar, attestation view and evidence export, and the CLI, read these facts
 * and never re-derive a verdict from DER or hex.
 */
import type { X509Certificate } from 'node:crypto';
import { ChannelError, type PresentedCertificateFact } from '../errors.js';
import { decodeServiceInfo } from '../attestation/service-info.js';
import type { ServiceInfo } from '../../protocol/service-info.js';
import type { VerifiedAttestation } from '../attestation/verify.js';
import { sha256Hex } from '../util/sha256.js';
import { oneLine } from '../../shared/text.js';

/**
 * The TLS binding as checked on the attested connection. `bound` is true when the presented certificate carries the
 * attested key (pinned TLS). It is false only when the user allowed sealed bodies through inspected TLS
 * (`allowInspectedTls`), the presented certificate is the middlebox's (`inspectedBy`) and valid for the system's trust
 * store, and the document attests an HPKE key: then every body is sealed to that key (see `bindTls`).
 */
export interface TlsBinding {
  /** SHA-256 of the SubjectPublicKeyInfo the server presented on the attested connection. */
  readonly presentedSpkiSha256: string;
  /** SHA-256 of the document's `public_key` (equal to the above when bound): the enclave's TLS key, which receipts sign for. */
  readonly attestedKeySha256: string;
  /** SHA-256 of the DER of the presented certificate. */
  readonly presentedCertificateSha256: string;
  readonly bound: boolean;
  /** Not bound: whose certificate the inspecting middlebox presented. */
  readonly inspectedBy?: PresentedCertificateFact;
}

/** What the connection's TLS said of the presented certificate, and what the user allows when it is not the enclave's. */
export interface InspectionPolicy {
  /** The user allowed sealed bodies through TLS that a middlebox terminates. */
  readonly allowInspectedTls: boolean;
  /** The presented chain is valid for the system's trust store and the server's name (Node's `authorized`). */
  readonly authorized: boolean;
  /** Node's reason when not `authorized` (e.g. UNABLE_TO_GET_ISSUER_CERT_LOCALLY). */
  readonly authorizationError?: string;
}

/** One verified enclave: the document, what it proves, and the TLS connection it was bound to. Immutable. */
export interface AttestedEnclave {
  /** The verified document; `attestation.verifiedAt` is the one time of verification. */
  readonly attestation: VerifiedAttestation;
  /** The attestation document exactly as received (for evidence export). */
  readonly document: Uint8Array;
  /** The certificate the server presented on the attested connection. */
  readonly presentedCertificate: X509Certificate;
  readonly binding: TlsBinding;
  /** What the server says it runs, decoded once from `user_data`; undefined when `user_data` is not a BlindBox service description. */
  readonly service: ServiceInfo | undefined;
  /** Whether the chain ends in a root other than AWS's: not a real enclave. */
  readonly simulation: boolean;
}

/** DER SubjectPublicKeyInfo of a certificate: what the binding and the connection pin compare. */
export function spkiOf(cert: X509Certificate): Uint8Array {
  return new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
}

/** A certificate's subject and issuer as one line each (bounded): what a person recognises it by. */
export function presentedFact(cert: X509Certificate): PresentedCertificateFact {
  const name = (dn: string) => oneLine(dn.split('\n').join(', '), 200);
  return { subject: name(cert.subject), issuer: name(cert.issuer) };
}

/** `subject "CN=…, O=…", issued by "CN=…"`: a certificate named as a person can recognise it (one line, bounded). */
export function certificateNames(cert: X509Certificate): string {
  const { subject, issuer } = presentedFact(cert);
  return `subject ${JSON.stringify(subject)}, issued by ${JSON.stringify(issuer)}`;
}

/**
 * Requires that the certificate presented on the attested connection carries exactly the attested `public_key`, and
 * returns the binding as checked. Throws `TLS_BINDING_MISMATCH` otherwise, naming the certificate presented and, when
 * `where` (`host:port`) is given, what to ask for: a TLS-inspecting middlebox is by far the likeliest cause.
 */
export function bindTls(attestation: VerifiedAttestation, presented: X509Certificate, presentedSpki: Uint8Array, where?: string, inspection?: InspectionPolicy): TlsBinding {
  const attestedKey = attestation.bytes.publicKey;
  if (attestedKey === null || attestedKey.length === 0) {
    throw new ChannelError('TLS_BINDING_MISMATCH', 'The attestation document binds no TLS key (public_key is empty), so the channel cannot be tied to the enclave.');
  }
  if (Buffer.compare(attestedKey, presentedSpki) !== 0 && inspection?.allowInspectedTls) return inspectedBinding(attestation, presented, presentedSpki, inspection, where);
  if (Buffer.compare(attestedKey, presentedSpki) !== 0) {
    throw new ChannelError(
      'TLS_BINDING_MISMATCH',
      `The TLS certificate presented on the attested connection (${certificateNames(presented)}) is not the key the enclave attested: a TLS-inspecting proxy or firewall between you and the enclave terminates TLS${where ? `. No audio was sent. Ask your IT department to exempt ${where} from TLS inspection` : ''}.`,
      { presented: presentedFact(presented) },
    );
  }
  const keySha256 = sha256Hex(presentedSpki);
  return Object.freeze({ presentedSpkiSha256: keySha256, attestedKeySha256: keySha256, presentedCertificateSha256: sha256Hex(presented.raw), bound: true });
}

/**
 * TLS terminated by a middlebox the user allowed: accepted only when its certificate is valid for the system's trust
 * store (an unknown interceptor is refused as before) and the document attests an HPKE key to seal bodies to.
 */
function inspectedBinding(attestation: VerifiedAttestation, presented: X509Certificate, presentedSpki: Uint8Array, inspection: InspectionPolicy, where: string | undefined): TlsBinding {
  const names = certificateNames(presented);
  if (!inspection.authorized) {
    throw new ChannelError(
      'INSPECTED_TLS_UNTRUSTED',
      `TLS to ${where ?? 'the server'} is terminated by a middlebox (${names}) whose certificate is not valid for this system's trust store (${oneLine(inspection.authorizationError ?? 'unverified', 80)}): no audio was sent. Trust your organisation's inspection CA (NODE_EXTRA_CA_CERTS for the CLI), or ask IT to exempt ${where ?? 'the server'} from TLS inspection.`,
      { presented: presentedFact(presented) },
    );
  }
  if (!decodeServiceInfo(attestation.bytes.userData)?.hpkePublicKey) {
    throw new ChannelError(
      'TLS_BINDING_MISMATCH',
      `TLS to ${where ?? 'the server'} is inspected (${names}) and the enclave attests no HPKE key to seal bodies to: no audio was sent. Ask your IT department to exempt ${where ?? 'the server'} from TLS inspection.`,
      { presented: presentedFact(presented) },
    );
  }
  return Object.freeze({
    presentedSpkiSha256: sha256Hex(presentedSpki),
    attestedKeySha256: sha256Hex(attestation.bytes.publicKey!),
    presentedCertificateSha256: sha256Hex(presented.raw),
    bound: false,
    inspectedBy: presentedFact(presented),
  });
}

/** Assembles the evidence value once every check passed. */
export function attestedEnclave(attestation: VerifiedAttestation, document: Uint8Array, presented: X509Certificate, binding: TlsBinding): AttestedEnclave {
  return Object.freeze({
    attestation,
    document: new Uint8Array(document),
    presentedCertificate: presented,
    binding,
    service: decodeServiceInfo(attestation.bytes.userData),
    simulation: !attestation.root.isAwsNitroRoot,
  });
}
