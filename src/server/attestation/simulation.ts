/**
 * The simulation attestation provider: Nitro-format documents signed by a CA
 * chain generated at start-up. It exists so the whole trust path can run on
 * one machine; it proves nothing, and its root is trusted only by a client
 * that is explicitly told to.
 */
import { randomBytes } from 'node:crypto';
import { toPem, type IssuedCertificate } from './certificates.js';
import { issueAttestationDocument } from './document.js';
import { createNitroChain, renewLeaf, type NitroChain } from './nitro-chain.js';
import type { AttestationProvider, AttestationRequest } from './provider.js';

/** Renew the 3-hour leaf when less than this is left, so no document is signed by a nearly expired leaf. */
const RENEW_MARGIN_MS = 30 * 60_000;

export class SimulationAttestationProvider implements AttestationProvider {
  readonly kind = 'simulation' as const;
  #chain: NitroChain;
  #renewing: Promise<NitroChain> | undefined;
  readonly #clock: () => Date;

  private constructor(
    chain: NitroChain,
    readonly pcrs: ReadonlyMap<number, Uint8Array>,
    readonly moduleId: string,
    clock: () => Date,
  ) {
    this.#clock = clock;
    this.#chain = chain;
  }

  /**
   * Builds the CA chain under `root` (a root shared by replicas, see simulation-ca.ts) or a new root; `clock` is
   * injectable so tests can age the leaf. Each provider has its own module id and intermediate certificates.
   */
  static async create(pcrs: ReadonlyMap<number, Uint8Array>, clock: () => Date = () => new Date(), root?: IssuedCertificate): Promise<SimulationAttestationProvider> {
    const moduleId = `i-${randomBytes(8).toString('hex')}-enc${randomBytes(8).toString('hex')}`;
    return new SimulationAttestationProvider(await createNitroChain(clock(), {}, root), pcrs, moduleId, clock);
  }

  /** The simulation root, for the user to trust explicitly (`--trust-out`). */
  get rootPem(): string {
    return toPem(this.#chain.root.der);
  }

  async attest(request: AttestationRequest): Promise<Uint8Array> {
    const chain = await this.#currentChain();
    return issueAttestationDocument(
      { moduleId: this.moduleId, timestamp: this.#clock().getTime(), pcrs: this.pcrs, nonce: request.nonce, publicKey: request.publicKey, userData: request.userData },
      chain,
    );
  }

  async #currentChain(): Promise<NitroChain> {
    const now = this.#clock();
    const leafNotAfter = this.#chain.leaf.spec.notAfter.getTime();
    if (leafNotAfter - now.getTime() > RENEW_MARGIN_MS) return this.#chain;
    // One renewal at a time; concurrent requests wait for it.
    this.#renewing ??= renewLeaf(this.#chain, now).finally(() => (this.#renewing = undefined));
    this.#chain = await this.#renewing;
    return this.#chain;
  }
}
