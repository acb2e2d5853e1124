/**
 * The fields of one X.509 certificate (RFC 5280 §4.1) that the Nitro chain rules read and that node:crypto's
 * X509Certificate does not expose on Node 20: the signature algorithms, the key's algorithm and curve, the extensions
 * with their critical flags, and the names, times and serial number as a person is shown them.
 *
 * OpenSSL (X509Certificate, built first by the caller) owns the certificate's structure; this reads fields out of
 * asn1js's parse by position and throws on any shape it does not expect, which the caller reports as CERT_INVALID.
 */
import * as asn1js from 'asn1js';
import { AttestationError } from '../errors.js';

/** One extension as it appears in the certificate; `value` is its extnValue's bytes (read by the accessors below). */
export interface CertificateExtension {
  readonly id: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** What `readCertificate` returns. */
export interface CertificateFields {
  readonly serialNumberHex: string;
  /** The algorithm OIDs of tbsCertificate.signature and of the outer signatureAlgorithm (they must agree to be trusted). */
  readonly signatureAlgorithms: readonly [string, string];
  readonly keyAlgorithm: string;
  /** The named curve's OID for an EC key, else undefined. */
  readonly keyCurve: string | undefined;
  /** Each RDN attribute in certificate order, as `type` OID and its string value ('' for a non-string value). */
  readonly subject: readonly NameAttribute[];
  readonly issuer: readonly NameAttribute[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions: readonly CertificateExtension[];
}

export interface NameAttribute {
  readonly type: string;
  readonly value: string;
}

const CONTEXT = 3;

function fail(what: string): never {
  throw new Error(`unexpected X.509 structure: ${what}`);
}

function is<T>(node: unknown, type: abstract new (...args: never[]) => T, what: string): T {
  if (!(node instanceof type)) fail(what);
  return node;
}

function children(node: unknown, what: string): asn1js.AsnType[] {
  return is(node, asn1js.Sequence, what).valueBlock.value;
}

function isContext(node: asn1js.AsnType | undefined, tag: number): boolean {
  return node !== undefined && node.idBlock.tagClass === CONTEXT && node.idBlock.tagNumber === tag;
}

/** The DER value of `der`, whole: trailing bytes after it are refused. */
function parseDer(der: Uint8Array, what: string): asn1js.AsnType {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1 || parsed.offset !== der.byteLength) fail(`${what} is not exactly one DER value`);
  return parsed.result;
}

function algorithm(node: unknown, what: string): { id: string; params: asn1js.AsnType | undefined } {
  const [id, params] = children(node, what);
  return { id: is(id, asn1js.ObjectIdentifier, what).valueBlock.toString(), params };
}

function name(node: unknown): NameAttribute[] {
  return children(node, 'name').flatMap((rdn) =>
    is(rdn, asn1js.Set, 'relative distinguished name').valueBlock.value.map((atv) => {
      const [type, value] = children(atv, 'name attribute');
      const text = (value?.valueBlock as { value?: unknown } | undefined)?.value;
      return { type: is(type, asn1js.ObjectIdentifier, 'name attribute type').valueBlock.toString(), value: typeof text === 'string' ? text : '' };
    }),
  );
}

function time(node: unknown): Date {
  if (node instanceof asn1js.UTCTime || node instanceof asn1js.GeneralizedTime) return node.toDate();
  fail('validity time');
}

function extensions(node: asn1js.AsnType | undefined): CertificateExtension[] {
  if (!node) return [];
  const [list] = is(node, asn1js.Constructed, 'extensions').valueBlock.value;
  return children(list, 'extensions').map((ext) => {
    const [id, second, third] = children(ext, 'extension');
    const critical = second instanceof asn1js.Boolean ? second.valueBlock.value : false;
    const value = is(second instanceof asn1js.Boolean ? third : second, asn1js.OctetString, 'extension value');
    return { id: is(id, asn1js.ObjectIdentifier, 'extension id').valueBlock.toString(), critical, value: value.valueBlock.valueHexView };
  });
}

/** Reads `der` (already accepted by X509Certificate); throws on a shape it does not expect. */
export function readCertificate(der: Uint8Array): CertificateFields {
  const [tbs, outerAlgorithm] = children(parseDer(der, 'the certificate'), 'certificate');
  const fields = children(tbs, 'tbsCertificate');
  let i = isContext(fields[0], 0) ? 1 : 0; // [0] EXPLICIT version
  const [serial, signature, issuer, validity, subject, spki] = fields.slice(i, (i += 6));
  const rest = fields.slice(i);
  const [notBefore, notAfter] = children(validity, 'validity');
  const [keyAlgorithmNode] = children(spki, 'subjectPublicKeyInfo');
  const key = algorithm(keyAlgorithmNode, 'key algorithm');
  return {
    serialNumberHex: Buffer.from(is(serial, asn1js.Integer, 'serial number').valueBlock.valueHexView).toString('hex'),
    signatureAlgorithms: [algorithm(signature, 'signature algorithm').id, algorithm(outerAlgorithm, 'signature algorithm').id],
    keyAlgorithm: key.id,
    keyCurve: key.params instanceof asn1js.ObjectIdentifier ? key.params.valueBlock.toString() : undefined,
    subject: name(subject),
    issuer: name(issuer),
    notBefore: time(notBefore),
    notAfter: time(notAfter),
    extensions: extensions(rest.find((n) => isContext(n, 3))), // [3] EXPLICIT extensions, after the optional unique IDs
  };
}

/** The set bits of a KeyUsage BIT STRING (bit 0 = digitalSignature). */
export function keyUsageBits(value: Uint8Array): Set<number> {
  const bits = is(parseDer(value, 'key usage'), asn1js.BitString, 'key usage');
  const bytes = bits.valueBlock.valueHexView;
  const set = new Set<number>();
  for (let i = 0; i < bytes.length * 8 - bits.valueBlock.unusedBits; i++) {
    if (bytes[i >> 3]! & (0x80 >> (i & 7))) set.add(i);
  }
  return set;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
export function basicConstraints(value: Uint8Array): { ca: boolean; pathLen: number | undefined } {
  const [first, second] = children(parseDer(value, 'basic constraints'), 'basic constraints');
  const ca = first instanceof asn1js.Boolean ? first.valueBlock.value : false;
  const pathLen = first instanceof asn1js.Boolean ? second : first;
  if (pathLen !== undefined && !(pathLen instanceof asn1js.Integer)) fail('basic constraints path length');
  return { ca, pathLen: pathLen?.valueBlock.valueDec };
}

/** Refuses a certificate that repeats an extension (RFC 5280 §4.2): which of the two would count is ambiguous. */
export function checkUniqueExtensions(list: readonly CertificateExtension[]): void {
  const seen = new Set<string>();
  for (const ext of list) {
    if (seen.has(ext.id)) throw new AttestationError('CERT_INVALID', `A certificate in the attestation chain repeats the extension ${ext.id}.`);
    seen.add(ext.id);
  }
}
