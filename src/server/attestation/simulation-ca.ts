/**
 * The simulation root kept in a directory (`serve --simulate --ca <dir>`), so that several replicas chain to one
 * root as real enclaves all chain to AWS's, and a client trusts the fleet with one root file. The root certificate
 * and its private key live in one PEM file (mode 0600, in a 0700 directory), created atomically: replicas started at
 * the same moment agree on one root (the first link wins; the others read it).
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as pkijs from 'pkijs';
import { issueCertificate, keyIdentifierOf, toPem, type IssuedCertificate } from './certificates.js';
import { nitroChainSpecs } from './nitro-chain.js';

/** The file in the CA directory holding the root certificate and its PKCS#8 private key. */
export const SIMULATION_CA_FILE = 'simulation-ca.pem';

/** Reads the simulation root from `dir`, or creates it there (the directory too) when there is none. */
export async function loadOrCreateSimulationRoot(dir: string, now: Date): Promise<IssuedCertificate> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, SIMULATION_CA_FILE);
  try {
    return await readRoot(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const root = await issueCertificate(nitroChainSpecs(now).root, undefined, keys);
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, toPem(root.der) + toPem(pkcs8, 'PRIVATE KEY'), { mode: 0o600, flag: 'wx' });
  try {
    // link() fails if the file exists: whoever linked first made the root every replica uses.
    await link(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readRoot(file);
  } finally {
    await rm(temp, { force: true });
  }
  return root;
}

async function readRoot(file: string): Promise<IssuedCertificate> {
  const pem = await readFile(file, 'utf8');
  const certificate = new X509Certificate(pem);
  const der = new Uint8Array(certificate.raw);
  const privateKey = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  if (!certificate.checkPrivateKey(createPrivateKey(pem))) throw new Error(`${file}: the private key does not belong to the certificate`);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-384' };
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey, algorithm, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', certificate.publicKey.export({ type: 'spki', format: 'der' }), algorithm, true, ['verify']),
  };
  const parsed = pkijs.Certificate.fromBER(der);
  // The spec's subject names the issuer of the certificates it signs; its dates are the certificate's own.
  const spec = { ...nitroChainSpecs(new Date(certificate.validFrom)).root, notBefore: new Date(certificate.validFrom), notAfter: new Date(certificate.validTo) };
  return Object.freeze({ der, keys, spec, keyIdentifier: keyIdentifierOf(parsed.subjectPublicKeyInfo) });
}
