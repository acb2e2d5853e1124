/**
 * The enclave app's TLS identity: a P-384 key generated at start-up, in
 * memory only, and a self-signed certificate for it. Clients do not trust it
 * through a CA but through the attestation document, whose `public_key` is
 * this certificate's SubjectPublicKeyInfo.
 */
import { createPrivateKey, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { generateSigningKeys, issueCertificate } from './attestation/certificates.js';

export interface TlsIdentity {
  /** DER certificate the server presents. */
  readonly certificate: Uint8Array;
  /** DER SubjectPublicKeyInfo of that certificate: what the attestation binds. */
  readonly spki: Uint8Array;
  readonly privateKey: KeyObject;
  /** PEM, as node:tls takes it. */
  readonly certificatePem: string;
}

const DAY = 86_400_000;

export async function createTlsIdentity(now: Date = new Date()): Promise<TlsIdentity> {
  const keys = await generateSigningKeys('P-384', true);
  const cert = await issueCertificate(
    {
      subject: [['O', 'BlindBox enclave'], ['CN', 'blindbox-enclave']],
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 30 * DAY),
      basicConstraints: { critical: true, ca: false },
      keyUsage: { critical: true, usages: ['digitalSignature'] },
    },
    undefined,
    keys,
  );
  // The private key goes from WebCrypto to a KeyObject for node:tls; the PKCS#8 bytes live only in this function.
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  pkcs8.fill(0);
  const x509 = new X509Certificate(cert.der);
  return Object.freeze({
    certificate: cert.der,
    spki: new Uint8Array(x509.publicKey.export({ type: 'spki', format: 'der' })),
    privateKey,
    certificatePem: x509.toString(),
  });
}
