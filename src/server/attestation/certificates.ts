/**
 * Issues X.509 certificates shaped like AWS Nitro's (P-384, ecdsa-with-SHA384,
 * the same extensions), with pkijs and WebCrypto. Used by the simulation
 * attestation provider and by the tests, which turn single knobs of a
 * `CertificateSpec` to break exactly one rule of the verifier's profile.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

// pkijs is typed against the DOM's Crypto; Node's webcrypto is the same API.
const engine = new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'] });

/** A WebCrypto key pair. */
export type KeyPair = webcrypto.CryptoKeyPair;

/** Named-curve choices; anything but P-384 exists only to test the verifier. */
export type Curve = 'P-384' | 'P-256';
/** Hash of the certificate signature; SHA-384 is the Nitro profile. */
export type SignatureHash = 'SHA-384' | 'SHA-256';

/** Key-usage bits by name (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, nonRepudiation: 1, keyCertSign: 5, cRLSign: 6 } as const;
export type KeyUsageName = keyof typeof KEY_USAGE;

/** Everything that decides the bytes of one certificate. */
export interface CertificateSpec {
  /** Relative distinguished names in order, e.g. `[['C', 'US'], ['CN', 'x']]`. */
  readonly subject: ReadonlyArray<readonly [NameAttribute, string]>;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** `null` leaves the extension out. */
  readonly basicConstraints: { readonly critical: boolean; readonly ca: boolean; readonly pathLen?: number } | null;
  readonly keyUsage: { readonly critical: boolean; readonly usages: readonly KeyUsageName[] } | null;
  readonly curve?: Curve;
  readonly signatureHash?: SignatureHash;
  /** Extra extensions, e.g. an unknown critical one. */
  readonly extraExtensions?: readonly pkijs.Extension[];
}

export type NameAttribute = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN';
const NAME_OIDS: Record<NameAttribute, string> = { C: '2.5.4.6', ST: '2.5.4.8', L: '2.5.4.7', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3' };

/** An issued certificate with its key pair (the private key never leaves the process). */
export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly keys: KeyPair;
  readonly spec: CertificateSpec;
  /** Subject Key Identifier, the issuer link for its children. */
  readonly keyIdentifier: Uint8Array;
}

/** Generates an ECDSA key pair for signing; `exportable` only where Node's TLS needs the private key as a KeyObject. */
export async function generateSigningKeys(curve: Curve = 'P-384', exportable = false): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, exportable, ['sign', 'verify'])) as KeyPair;
}

/** Issues a certificate for `spec`, signed by `issuer` (or self-signed when `issuer` is undefined). */
export async function issueCertificate(spec: CertificateSpec, issuer?: IssuedCertificate, keys?: KeyPair): Promise<IssuedCertificate> {
  const pair = keys ?? (await generateSigningKeys(spec.curve));
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x3f) | 0x40; // positive and minimal: DER forbids a leading zero byte before a clear high bit
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  setName(cert.subject, spec.subject);
  setName(cert.issuer, (issuer?.spec ?? spec).subject);
  cert.notBefore = asn1Time(spec.notBefore);
  cert.notAfter = asn1Time(spec.notAfter);
  await cert.subjectPublicKeyInfo.importKey(pair.publicKey as never, engine);

  const keyIdentifier = keyIdentifierOf(cert.subjectPublicKeyInfo);
  const extensions: pkijs.Extension[] = [];
  if (spec.basicConstraints) {
    const { critical, ca, pathLen } = spec.basicConstraints;
    const value = new pkijs.BasicConstraints(pathLen === undefined ? { cA: ca } : { cA: ca, pathLenConstraint: pathLen });
    extensions.push(new pkijs.Extension({ extnID: '2.5.29.19', critical, extnValue: value.toSchema().toBER(false), parsedValue: value }));
  }
  extensions.push(new pkijs.Extension({ extnID: '2.5.29.14', critical: false, extnValue: new asn1js.OctetString({ valueHex: keyIdentifier }).toBER(false) }));
  if (issuer) {
    const aki = new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: issuer.keyIdentifier }) });
    extensions.push(new pkijs.Extension({ extnID: '2.5.29.35', critical: false, extnValue: aki.toSchema().toBER(false) }));
  }
  if (spec.keyUsage) extensions.push(keyUsageExtension(spec.keyUsage.critical, spec.keyUsage.usages));
  extensions.push(...(spec.extraExtensions ?? []));
  cert.extensions = extensions;

  await cert.sign((issuer?.keys ?? pair).privateKey as never, spec.signatureHash ?? 'SHA-384', engine);
  const der = new Uint8Array(cert.toSchema(true).toBER(false));
  return Object.freeze({ der, keys: pair, spec, keyIdentifier });
}

/** The Subject Key Identifier of a public key (RFC 5280 §4.2.1.2, method 1: SHA-1 of the key's bits). */
export function keyIdentifierOf(spki: pkijs.PublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest());
}

function keyUsageExtension(critical: boolean, usages: readonly KeyUsageName[]): pkijs.Extension {
  const bits = usages.map((u) => KEY_USAGE[u]);
  const highest = Math.max(...bits, 0);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  // DER: unused bits are the trailing zero bits of the last byte.
  const unusedBits = 7 - (highest & 7);
  const value = new asn1js.BitString({ valueHex: bytes, unusedBits });
  return new pkijs.Extension({ extnID: '2.5.29.15', critical, extnValue: value.toBER(false), parsedValue: value });
}

function setName(name: pkijs.RelativeDistinguishedNames, parts: CertificateSpec['subject']): void {
  name.typesAndValues = parts.map(
    ([attr, value]) =>
      new pkijs.AttributeTypeAndValue({
        type: NAME_OIDS[attr],
        value: attr === 'C' ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value }),
      }),
  );
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function asn1Time(date: Date): pkijs.Time {
  const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return new pkijs.Time({ type: seconds.getUTCFullYear() < 2050 ? 0 : 1, value: seconds });
}

/** PEM text of a DER certificate. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
