/**
 * The certificate path of a Nitro attestation document: `cabundle[0]` (a trusted
 * root) → intermediates → `certificate` (the leaf whose key signed the document).
 *
 * pkijs parses each certificate and reads names and extensions; node:crypto
 * (OpenSSL) checks issuer/subject linkage and signatures, several times faster
 * than pkijs' own engine. What is a pure function of bytes (a parsed
 * certificate, "this certificate's signature verifies under that issuer") is
 * cached by SHA-256; everything that depends on time or trust runs every time.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AttestationError } from '../errors.js';
import type { TrustedRoot } from './roots.js';
import { sha256Hex } from '../util/sha256.js';
import { quoteServerText } from '../../shared/text.js';

const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_SECP384R1 = '1.3.132.0.34';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_KEY_USAGE = '2.5.29.15';
/** Critical extensions we understand; an unknown critical extension must fail the certificate (RFC 5280 §4.2). */
const UNDERSTOOD_CRITICAL = new Set([OID_BASIC_CONSTRAINTS, OID_KEY_USAGE, '2.5.29.37' /* extKeyUsage */]);

const KEY_USAGE_DIGITAL_SIGNATURE = 0;
const KEY_USAGE_KEY_CERT_SIGN = 5;

const NAME_LABELS: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber',
};

/** What a person (and the webview) is shown about one certificate of a verified chain. */
export interface CertificateSummary {
  /** Distinguished name in certificate order, e.g. `C=US, O=Amazon, OU=AWS, CN=aws.nitro-enclaves`. */
  readonly subject: string;
  readonly issuer: string;
  /** ISO-8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** Lower-case hex SHA-256 of the DER. */
  readonly sha256: string;
  readonly serialNumber: string;
  /** e.g. `EC P-384`. */
  readonly keyAlgorithm: string;
  readonly isCA: boolean;
}

/** A certificate parsed once; immutable, cached by its SHA-256. */
interface ParsedCertificate {
  readonly summary: CertificateSummary;
  readonly x509: X509Certificate;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly signatureAlgorithmOk: boolean;
  readonly keyIsP384: boolean;
  /** undefined: extension absent. */
  readonly basicConstraints: { readonly critical: boolean; readonly ca: boolean; readonly pathLen: number | undefined } | undefined;
  readonly keyUsage: ReadonlySet<number> | undefined;
  readonly unknownCriticalExtension: string | undefined;
}

/** The trusted path and the key that must have signed the document. */
export interface ValidatedChain {
  /** Root first, leaf last. */
  readonly certificates: readonly CertificateSummary[];
  readonly root: TrustedRoot;
  readonly leafKey: KeyObject;
}

const CACHE_LIMIT = 512;
const parsedCache = new Map<string, ParsedCertificate>();
/** Trust anchors are parsed once per anchor object and kept: they are configuration, not input. */
const anchorCache = new WeakMap<TrustedRoot, ParsedCertificate>();
const verifiedLinks = new Set<string>();

function remember<K, V>(cache: Map<K, V> | Set<K>, key: K, value?: V): void {
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as K);
  if (cache instanceof Map) cache.set(key, value as V);
  else cache.add(key);
}

/** Drops every cached parse and signature result except the trust anchors' (for benchmarks of a never-seen chain). */
export function clearChainCaches(): void {
  parsedCache.clear();
  verifiedLinks.clear();
}

/**
 * Validates `cabundle` + `leaf` at `now` against `roots`, following AWS's
 * procedure: the bundle starts at a trusted root, each certificate is issued
 * and signed by the one before, all are valid at `now`, CAs are CAs within
 * their path length, the leaf is an end entity with a P-384 signing key.
 */
export function validateChain(cabundle: readonly Uint8Array[], leafDer: Uint8Array, roots: readonly TrustedRoot[], now: Date): ValidatedChain {
  const rootSha = sha256Hex(cabundle[0]!);
  const root = roots.find((r) => r.sha256 === rootSha);
  if (!root) {
    const subject = tryParse(cabundle[0]!, rootSha)?.summary.subject;
    throw new AttestationError(
      'CHAIN_UNTRUSTED',
      `The attestation chain starts at ${subject ? quoteServerText(subject, 200) : 'a certificate'} (SHA-256 ${rootSha.slice(0, 16)}…), which is not a trusted root.`,
    );
  }

  let anchor = anchorCache.get(root);
  if (!anchor) anchorCache.set(root, (anchor = parse(root.der, root.sha256)));
  const path = [anchor, ...[...cabundle.slice(1), leafDer].map((der) => parse(der))];
  const last = path.length - 1;
  // A broken path is the more fundamental fault, so links are checked before each certificate's profile.
  for (let i = 1; i <= last; i++) checkLink(path[i - 1]!, path[i]!);
  path.forEach((cert, i) => checkProfile(cert, i === last, last - 1 - i));

  const t = now.getTime();
  for (const cert of path) {
    if (t < cert.notBefore) {
      throw new AttestationError('CERT_NOT_YET_VALID', `The certificate ${quoteServerText(cert.summary.subject, 200)} is valid only from ${cert.summary.notBefore}, after the verification time ${now.toISOString()}.`);
    }
    if (t > cert.notAfter) {
      throw new AttestationError('CERT_EXPIRED', `The certificate ${quoteServerText(cert.summary.subject, 200)} expired at ${cert.summary.notAfter}, before the verification time ${now.toISOString()}.`);
    }
  }

  return Object.freeze({
    certificates: Object.freeze(path.map((c) => c.summary)),
    root,
    leafKey: path[last]!.x509.publicKey,
  });
}

/** Structural rules of the Nitro profile for one certificate; `casBelow` counts the CA certificates under it. */
function checkProfile(cert: ParsedCertificate, isLeaf: boolean, casBelow: number): void {
  const name = cert.summary.subject;
  const invalid = (reason: string) => new AttestationError('CERT_INVALID', `The certificate ${quoteServerText(name, 200)} ${reason}.`);
  if (!cert.signatureAlgorithmOk) throw invalid('is not signed with ecdsa-with-SHA384');
  if (!cert.keyIsP384) throw invalid('does not have a P-384 elliptic-curve key');
  if (cert.unknownCriticalExtension) throw invalid(`has a critical extension ${cert.unknownCriticalExtension} that is not understood`);
  const bc = cert.basicConstraints;
  if (isLeaf) {
    if (bc?.ca) throw invalid('is a CA certificate but signs the document as the leaf');
    if (!cert.keyUsage?.has(KEY_USAGE_DIGITAL_SIGNATURE)) throw invalid('is the leaf but is not allowed to make digital signatures');
    return;
  }
  if (!bc || !bc.ca) throw invalid('issues other certificates but is not marked as a CA');
  if (!bc.critical) throw invalid('has a basic-constraints extension that is not marked critical');
  if (!cert.keyUsage?.has(KEY_USAGE_KEY_CERT_SIGN)) throw invalid('issues other certificates but is not allowed to sign certificates');
  if (bc.pathLen !== undefined && casBelow > bc.pathLen) {
    throw invalid(`allows ${bc.pathLen} CA certificate(s) below it, but the chain has ${casBelow}`);
  }
}

/** `child` must name `parent` as its issuer and carry its signature. */
function checkLink(parent: ParsedCertificate, child: ParsedCertificate): void {
  const link = `${parent.summary.sha256}>${child.summary.sha256}`;
  if (verifiedLinks.has(link)) return;
  // Names are compared directly (not with OpenSSL's checkIssued, which also folds in key usage) so that each fault gets its own message.
  if (child.x509.issuer !== parent.x509.subject) {
    throw new AttestationError('CHAIN_UNTRUSTED', `The certificate ${quoteServerText(child.summary.subject, 200)} was not issued by ${quoteServerText(parent.summary.subject, 200)}, which precedes it in the chain.`);
  }
  if (!child.x509.verify(parent.x509.publicKey)) {
    throw new AttestationError('CHAIN_UNTRUSTED', `The signature on the certificate ${quoteServerText(child.summary.subject, 200)} does not verify with the key of its issuer ${quoteServerText(parent.summary.subject, 200)}.`);
  }
  remember(verifiedLinks, link);
}

function tryParse(der: Uint8Array, sha256: string): ParsedCertificate | undefined {
  try {
    return parse(der, sha256);
  } catch {
    return undefined;
  }
}

function parse(der: Uint8Array, sha256 = sha256Hex(der)): ParsedCertificate {
  const cached = parsedCache.get(sha256);
  if (cached) return cached;
  let parsed: ParsedCertificate;
  try {
    parsed = parseUncached(der, sha256);
  } catch (err) {
    if (err instanceof AttestationError) throw err;
    throw new AttestationError('CERT_INVALID', `A certificate in the attestation chain (SHA-256 ${sha256.slice(0, 16)}…) cannot be parsed as X.509 DER.`, { cause: err });
  }
  remember(parsedCache, sha256, parsed);
  return parsed;
}

function parseUncached(der: Uint8Array, sha256: string): ParsedCertificate {
  const x509 = new X509Certificate(der);
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1 || asn1.offset !== der.byteLength) throw new Error('not exactly one DER value');
  const cert = new pkijs.Certificate({ schema: asn1.result });

  let basicConstraints: ParsedCertificate['basicConstraints'];
  let keyUsage: Set<number> | undefined;
  let unknownCriticalExtension: string | undefined;
  const seen = new Set<string>();
  for (const ext of cert.extensions ?? []) {
    if (seen.has(ext.extnID)) throw new AttestationError('CERT_INVALID', `A certificate in the attestation chain repeats the extension ${ext.extnID}.`);
    seen.add(ext.extnID);
    const critical = ext.critical === true;
    if (ext.extnID === OID_BASIC_CONSTRAINTS) {
      const bc = ext.parsedValue as pkijs.BasicConstraints;
      const pathLen = bc.pathLenConstraint;
      basicConstraints = { critical, ca: bc.cA === true, pathLen: typeof pathLen === 'number' ? pathLen : pathLen?.valueBlock.valueDec };
    } else if (ext.extnID === OID_KEY_USAGE) {
      keyUsage = bitSet(ext.parsedValue as asn1js.BitString);
    } else if (critical && !UNDERSTOOD_CRITICAL.has(ext.extnID)) {
      unknownCriticalExtension ??= ext.extnID;
    }
  }

  const spki = cert.subjectPublicKeyInfo.algorithm;
  const curve = spki.algorithmParams instanceof asn1js.ObjectIdentifier ? spki.algorithmParams.valueBlock.toString() : undefined;
  const keyIsP384 = spki.algorithmId === OID_EC_PUBLIC_KEY && curve === OID_SECP384R1;
  const notBefore = cert.notBefore.value;
  const notAfter = cert.notAfter.value;

  return Object.freeze({
    x509,
    notBefore: notBefore.getTime(),
    notAfter: notAfter.getTime(),
    signatureAlgorithmOk: cert.signatureAlgorithm.algorithmId === OID_ECDSA_SHA384 && cert.signature.algorithmId === OID_ECDSA_SHA384,
    keyIsP384,
    basicConstraints,
    keyUsage,
    unknownCriticalExtension,
    summary: Object.freeze({
      subject: formatName(cert.subject),
      issuer: formatName(cert.issuer),
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      sha256,
      serialNumber: Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex'),
      keyAlgorithm: keyIsP384 ? 'EC P-384' : describeKey(spki.algorithmId, curve),
      isCA: basicConstraints?.ca === true,
    }),
  });
}

function bitSet(bits: asn1js.BitString): Set<number> {
  const bytes = bits.valueBlock.valueHexView;
  const set = new Set<number>();
  for (let i = 0; i < bytes.length * 8 - bits.valueBlock.unusedBits; i++) {
    if (bytes[i >> 3]! & (0x80 >> (i & 7))) set.add(i);
  }
  return set;
}

function formatName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${NAME_LABELS[tv.type] ?? tv.type}=${String((tv.value.valueBlock as { value?: unknown }).value ?? '')}`)
    .join(', ');
}

function describeKey(algorithmId: string, curve: string | undefined): string {
  const curves: Record<string, string> = { '1.2.840.10045.3.1.7': 'P-256', [OID_SECP384R1]: 'P-384', '1.3.132.0.35': 'P-521' };
  if (algorithmId === OID_EC_PUBLIC_KEY) return `EC ${curve ? (curves[curve] ?? curve) : 'unknown curve'}`;
  if (algorithmId === '1.2.840.113549.1.1.1') return 'RSA';
  return algorithmId;
}
