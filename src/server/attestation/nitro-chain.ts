/**
 * A certificate chain shaped like AWS Nitro's: root → regional → zonal →
 * instance → 3-hour leaf, with AWS's validity periods, path lengths and key
 * usages. Every name says SIMULATION: this chain proves nothing about
 * confidentiality and must never be mistaken for AWS's.
 */
import { SIMULATION_ROOT_NAME } from '../../protocol/simulation-root.js';
import { issueCertificate, type CertificateSpec, type IssuedCertificate } from './certificates.js';

export const CHAIN_LEVELS = ['root', 'regional', 'zonal', 'instance', 'leaf'] as const;
export type ChainLevel = (typeof CHAIN_LEVELS)[number];

/** The five certificates; `cabundle` is what a document carries (root first, leaf excluded). */
export interface NitroChain {
  readonly root: IssuedCertificate;
  readonly regional: IssuedCertificate;
  readonly zonal: IssuedCertificate;
  readonly instance: IssuedCertificate;
  readonly leaf: IssuedCertificate;
  readonly cabundle: readonly Uint8Array[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** AWS's leaf certificates live three hours. */
export const LEAF_LIFETIME_MS = 3 * HOUR;

const O = [['O', SIMULATION_ROOT_NAME.organization], ['OU', SIMULATION_ROOT_NAME.organizationalUnit]] as const;

/** The AWS-like specification of each level, valid around `now`. */
export function nitroChainSpecs(now: Date, instanceId = 'i-00000000000000000'): Record<ChainLevel, CertificateSpec> {
  const t = now.getTime();
  const span = (before: number, after: number) => ({ notBefore: new Date(t - before), notAfter: new Date(t + after) });
  const ca = (pathLen: number | undefined) => ({ critical: true, ca: true, ...(pathLen === undefined ? {} : { pathLen }) });
  return {
    root: { subject: [['C', 'US'], ...O, ['CN', SIMULATION_ROOT_NAME.rootCommonName]], ...span(DAY, 30 * 365 * DAY), basicConstraints: ca(undefined), keyUsage: { critical: true, usages: ['digitalSignature', 'keyCertSign', 'cRLSign'] } },
    regional: { subject: [['C', 'US'], ...O, ['CN', 'regional.simulation.nitro-enclaves']], ...span(DAY, 19 * DAY), basicConstraints: ca(2), keyUsage: { critical: true, usages: ['digitalSignature', 'keyCertSign', 'cRLSign'] } },
    zonal: { subject: [['C', 'US'], ...O, ['CN', 'zonal.simulation.nitro-enclaves']], ...span(DAY, 5 * DAY), basicConstraints: ca(1), keyUsage: { critical: true, usages: ['digitalSignature', 'keyCertSign', 'cRLSign'] } },
    instance: { subject: [['C', 'US'], ...O, ['CN', `${instanceId}.simulation.nitro-enclaves`]], ...span(HOUR, DAY - HOUR), basicConstraints: ca(0), keyUsage: { critical: true, usages: ['keyCertSign'] } },
    leaf: leafSpec(now, instanceId),
  };
}

/** The spec of a fresh leaf, valid from `now` for three hours. */
export function leafSpec(now: Date, instanceId = 'i-00000000000000000'): CertificateSpec {
  return {
    subject: [['C', 'US'], ...O, ['CN', `${instanceId}-enc.simulation`]],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + LEAF_LIFETIME_MS),
    basicConstraints: { critical: true, ca: false },
    keyUsage: { critical: false, usages: ['digitalSignature', 'nonRepudiation'] },
  };
}

/**
 * Builds a new chain. `overrides` replace single fields of a level's spec, so a
 * test can break one rule (e.g. `{ zonal: { basicConstraints: null } }`).
 * `root`, when given, is used instead of a new one (replicas sharing one root).
 */
export async function createNitroChain(now: Date, overrides: Partial<Record<ChainLevel, Partial<CertificateSpec>>> = {}, existingRoot?: IssuedCertificate): Promise<NitroChain> {
  const specs = nitroChainSpecs(now);
  const spec = (level: ChainLevel): CertificateSpec => ({ ...specs[level], ...overrides[level] });
  const root = existingRoot ?? (await issueCertificate(spec('root')));
  const regional = await issueCertificate(spec('regional'), root);
  const zonal = await issueCertificate(spec('zonal'), regional);
  const instance = await issueCertificate(spec('instance'), zonal);
  const leaf = await issueCertificate(spec('leaf'), instance);
  return Object.freeze({ root, regional, zonal, instance, leaf, cabundle: Object.freeze([root.der, regional.der, zonal.der, instance.der]) });
}

/** The same chain with a new leaf valid from `now` (Nitro renews leaves; the rest lives longer). */
export async function renewLeaf(chain: NitroChain, now: Date): Promise<NitroChain> {
  const leaf = await issueCertificate(leafSpec(now), chain.instance);
  return Object.freeze({ ...chain, leaf });
}
