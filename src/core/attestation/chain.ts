/**
 * The certificate path of a Nitro attestation document: `cabundle[0]` (a trusted
 * root) → intermediates → `certificate` (the leaf whose key signed the document).
 *
 * node:crypto (OpenSSL) parses each certificate and checks issuer/subject
 * linkage and signatures; certificate.ts reads with asn1js what Node 20's
 * X509Certificate does not expose (algorithms, extensions, names as shown). What is a pure function of bytes (a parsed
 * certificate, "this certificate's signature verifies under that issuer") is
 * cached by SHA-256; everything that depends on time or trust runs every time.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AttestationError } from '../errors.js';
import { basicConstraints, checkUniqueExtensions, keyUsageBits, readCertificate, type NameAttribute } from './certificate.js';
import { rootKind, type TrustedRoot } from './roots.js';
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
    const kind = rootKind(cabundle[0]!);
    // AWS's root is always trusted, so an untrusted one is either a BlindBox simulation's or another.
    const untrustedKind = kind === 'blindbox-simulation' ? kind : 'other';
    const what = untrustedKind === 'blindbox-simulation' ? 'a BlindBox SIMULATION root' : subject ? quoteServerText(subject, 200) : 'a certificate';
    throw new AttestationError(
      'CHAIN_UNTRUSTED',
      `The attestation chain starts at ${what} (SHA-256 ${rootSha.slice(0, 16)}…), which is not a trusted root.`,
      { untrustedRoot: Object.freeze({ der: cabundle[0]!, sha256: rootSha, kind: untrustedKind, trustedSimulationRoots: roots.filter((r) => rootKind(r.der) === 'blindbox-simulation').length }) },
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
  const fields = readCertificate(der);
  checkUniqueExtensions(fields.extensions);

  let bc: ParsedCertificate['basicConstraints'];
  let keyUsage: Set<number> | undefined;
  let unknownCriticalExtension: string | undefined;
  for (const ext of fields.extensions) {
    if (ext.id === OID_BASIC_CONSTRAINTS) bc = { critical: ext.critical, ...basicConstraints(ext.value) };
    else if (ext.id === OID_KEY_USAGE) keyUsage = keyUsageBits(ext.value);
    else if (ext.critical && !UNDERSTOOD_CRITICAL.has(ext.id)) unknownCriticalExtension ??= ext.id;
  }

  const keyIsP384 = fields.keyAlgorithm === OID_EC_PUBLIC_KEY && fields.keyCurve === OID_SECP384R1;
  return Object.freeze({
    x509,
    notBefore: fields.notBefore.getTime(),
    notAfter: fields.notAfter.getTime(),
    signatureAlgorithmOk: fields.signatureAlgorithms.every((id) => id === OID_ECDSA_SHA384),
    keyIsP384,
    basicConstraints: bc,
    keyUsage,
    unknownCriticalExtension,
    summary: Object.freeze({
      subject: formatName(fields.subject),
      issuer: formatName(fields.issuer),
      notBefore: fields.notBefore.toISOString(),
      notAfter: fields.notAfter.toISOString(),
      sha256,
      serialNumber: fields.serialNumberHex,
      keyAlgorithm: keyIsP384 ? 'EC P-384' : describeKey(fields.keyAlgorithm, fields.keyCurve),
      isCA: bc?.ca === true,
    }),
  });
}

function formatName(name: readonly NameAttribute[]): string {
  return name.map((a) => `${NAME_LABELS[a.type] ?? a.type}=${a.value}`).join(', ');
}

function describeKey(algorithmId: string, curve: string | undefined): string {
  const curves: Record<string, string> = { '1.2.840.10045.3.1.7': 'P-256', [OID_SECP384R1]: 'P-384', '1.3.132.0.35': 'P-521' };
  if (algorithmId === OID_EC_PUBLIC_KEY) return `EC ${curve ? (curves[curve] ?? curve) : 'unknown curve'}`;
  if (algorithmId === '1.2.840.113549.1.1.1') return 'RSA';
  return algorithmId;
}
