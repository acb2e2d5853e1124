/**
 * Trust anchors. The AWS Nitro Enclaves Root G1 is embedded (it is a public
 * fact) and checked at load against the SHA-256 fingerprint AWS publishes, so a
 * corrupted or tampered build fails loudly instead of trusting the wrong key.
 */
import { X509Certificate } from 'node:crypto';
import { SIMULATION_ROOT_NAME } from '../../protocol/simulation-root.js';
import { InputError } from '../errors.js';
import { sha256Hex } from '../util/sha256.js';
import { readCertificate, type NameAttribute } from './certificate.js';

/** AWS Nitro Enclaves Root G1, from https://aws-nitro-enclaves.amazonaws.com/AWS_NitroEnclaves_Root-G1.zip. */
export const AWS_NITRO_ROOT_G1_PEM = `-----BEGIN CERTIFICATE-----
MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTEL
MAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYD
VQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4
MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQL
DANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEG
BSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb
48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZE
h8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkF
R+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYC
MQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPW
rfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6N
IwLz3/Y=
-----END CERTIFICATE-----`;

/** The fingerprint AWS publishes for Root G1 ("verifying the root of trust"). */
export const AWS_NITRO_ROOT_G1_SHA256 = '64:1A:03:21:A3:E2:44:EF:E4:56:46:31:95:D6:06:31:7E:D7:CD:CC:3C:17:56:E0:98:93:F3:C6:8F:79:BB:5B';

/** A certificate the caller trusts as the first entry of `cabundle`. */
export interface TrustedRoot {
  /** DER bytes. */
  readonly der: Uint8Array;
  /** Lower-case hex SHA-256 of `der`: the identity the chain is matched on. */
  readonly sha256: string;
  /** Where it came from, for people: "AWS Nitro Enclaves Root G1" or a file name. */
  readonly label: string;
  /** True only for the embedded AWS root: anything else cannot prove a real Nitro enclave. */
  readonly isAwsNitroRoot: boolean;
}

/** Every certificate in a PEM text, as DER. Throws when there is none or one is not a certificate. */
export function pemCertificates(pem: string): Uint8Array[] {
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) throw new Error('no PEM certificate found');
  return blocks.map((m) => {
    const der = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
    new X509Certificate(der); // throws on anything that is not a certificate
    return der;
  });
}

/** Makes trust anchors out of PEM text (a root file the user chose to trust); `INVALID_ROOT` when it holds no valid certificate. */
export function trustedRootsFromPem(pem: string, label: string): TrustedRoot[] {
  let ders: Uint8Array[];
  try {
    ders = pemCertificates(pem);
  } catch (err) {
    throw new InputError('INVALID_ROOT', `${label}: ${(err as Error).message}`, { cause: err });
  }
  return ders.map((der) => {
    const sha256 = sha256Hex(der);
    return Object.freeze({ der, sha256, label, isAwsNitroRoot: sha256 === AWS_ROOT_HEX });
  });
}

/**
 * What a root certificate is: AWS's Nitro Enclaves Root G1 (by its fingerprint), a root that `blindbox serve --simulate`
 * made (self-signed CA named as protocol/simulation-root.ts says), or any other. The one place this is decided; it
 * changes words and offers only, never what is trusted.
 */
export type RootKind = 'aws-nitro' | 'blindbox-simulation' | 'other';

export function rootKind(der: Uint8Array): RootKind {
  if (sha256Hex(der) === AWS_ROOT_HEX) return 'aws-nitro';
  try {
    const fields = readCertificate(der);
    const x509 = new X509Certificate(der);
    const named = only(fields.subject, OID_ORGANIZATION) === SIMULATION_ROOT_NAME.organization && only(fields.subject, OID_COMMON_NAME) === SIMULATION_ROOT_NAME.rootCommonName;
    const selfSigned = sameName(fields.subject, fields.issuer) && x509.ca && x509.verify(x509.publicKey);
    return named && selfSigned ? 'blindbox-simulation' : 'other';
  } catch {
    // Not a certificate this code can read: certainly not one of ours.
    return 'other';
  }
}

const OID_ORGANIZATION = '2.5.4.10';
const OID_COMMON_NAME = '2.5.4.3';

/** The value of the one attribute of `type`, or undefined when there is none or several. */
function only(name: readonly NameAttribute[], type: string): string | undefined {
  const values = name.filter((a) => a.type === type);
  return values.length === 1 ? values[0]!.value : undefined;
}

function sameName(a: readonly NameAttribute[], b: readonly NameAttribute[]): boolean {
  return a.length === b.length && a.every((x, i) => x.type === b[i]!.type && x.value === b[i]!.value);
}

const AWS_ROOT_HEX = AWS_NITRO_ROOT_G1_SHA256.replaceAll(':', '').toLowerCase();

function loadAwsRoot(): TrustedRoot {
  const [der] = pemCertificates(AWS_NITRO_ROOT_G1_PEM);
  if (!der || sha256Hex(der) !== AWS_ROOT_HEX) {
    throw new Error('The embedded AWS Nitro Enclaves Root G1 does not match its published SHA-256 fingerprint; this build is corrupt.');
  }
  return Object.freeze({ der, sha256: AWS_ROOT_HEX, label: 'AWS Nitro Enclaves Root G1', isAwsNitroRoot: true });
}

/** The embedded AWS Nitro Enclaves Root G1, verified against its fingerprint when this module loads. */
export const AWS_NITRO_ROOT_G1: TrustedRoot = loadAwsRoot();
