/**
 * The real attestation provider: documents from the Nitro Secure Module, signed by AWS's Nitro PKI. It also owns the
 * application PCR's life in the enclave: extended once with the engine's measurement, then locked, so that every
 * document after start-up carries it (the NSM puts exactly the locked PCRs in a document).
 */
import { timingSafeEqual } from 'node:crypto';
import type { AttestationProvider, AttestationRequest } from '../provider.js';
import { NsmDevice } from './device.js';
import { NsmError } from './errors.js';
import {
  parseAttestation,
  parseDescribeNsm,
  parseDescribePcr,
  parseExtendPcr,
  parseGetRandom,
  parseUnit,
  type DescribeNsmResponse,
  type DescribePcrResponse,
} from './messages.js';

export class NsmAttestationProvider implements AttestationProvider {
  readonly kind = 'nsm' as const;
  #pcrs: ReadonlyMap<number, Uint8Array> = new Map();
  readonly #device: NsmDevice;

  private constructor(
    device: NsmDevice,
    /** What the module says about itself (module id, PCR count, locked PCRs at start). */
    readonly description: DescribeNsmResponse,
  ) {
    this.#device = device;
  }

  /** Opens the device and reads its description and locked PCRs. Throws NsmError (`NSM_DEVICE_MISSING` outside an enclave). */
  static async open(devicePath?: string): Promise<NsmAttestationProvider> {
    const device = NsmDevice.open(devicePath);
    try {
      const description = parseDescribeNsm(await device.call({ kind: 'DescribeNSM' }));
      if (description.digest !== 'SHA384') throw new NsmError('NSM_UNEXPECTED_STATE', `the NSM measures with ${description.digest}; Nitro enclaves use SHA384`);
      const provider = new NsmAttestationProvider(device, description);
      await provider.#readLockedPcrs();
      return provider;
    } catch (err) {
      device.close();
      throw err;
    }
  }

  /** The locked PCRs, as the documents carry them; updated by `measureAndLock`. */
  get pcrs(): ReadonlyMap<number, Uint8Array> {
    return this.#pcrs;
  }

  get moduleId(): string {
    return this.description.moduleId;
  }

  /**
   * Makes PCR `index` hold `expected` (the value of one extension of a fresh PCR, see application-pcr.ts) and locks
   * it. A PCR this process's predecessor in the same enclave already measured and locked is accepted if it holds
   * exactly that value; any other state is refused, since the PCR could then never show the expected value.
   */
  async measureAndLock(index: number, measurement: Uint8Array, expected: Uint8Array): Promise<void> {
    const before = await this.describePcr(index);
    if (before.lock) {
      if (!same(before.data, expected)) throw new NsmError('NSM_UNEXPECTED_STATE', `PCR${index} is already locked, with another measurement than this server's`);
    } else {
      if (before.data.some((b) => b !== 0)) throw new NsmError('NSM_UNEXPECTED_STATE', `PCR${index} was already extended by something else; restart the enclave`);
      const extended = parseExtendPcr(await this.#device.call({ kind: 'ExtendPCR', index, data: measurement }));
      if (!same(extended, expected)) throw new NsmError('NSM_UNEXPECTED_STATE', `the NSM extended PCR${index} to a value other than SHA-384(zero ‖ measurement)`);
      parseUnit(await this.#device.call({ kind: 'LockPCR', index }), 'LockPCR');
      const after = await this.describePcr(index);
      if (!after.lock || !same(after.data, expected)) throw new NsmError('NSM_UNEXPECTED_STATE', `PCR${index} is not locked at its measured value after LockPCR`);
    }
    await this.#readLockedPcrs();
  }

  async describePcr(index: number): Promise<DescribePcrResponse> {
    return parseDescribePcr(await this.#device.call({ kind: 'DescribePCR', index }));
  }

  /** Random bytes from the NSM's hardware source. */
  async getRandom(): Promise<Uint8Array> {
    return parseGetRandom(await this.#device.call({ kind: 'GetRandom' }));
  }

  async attest(request: AttestationRequest): Promise<Uint8Array> {
    const body = await this.#device.call({ kind: 'Attestation', userData: request.userData, nonce: request.nonce, publicKey: request.publicKey });
    return parseAttestation(body);
  }

  close(): void {
    this.#device.close();
  }

  async #readLockedPcrs(): Promise<void> {
    const { lockedPcrs, maxPcrs } = parseDescribeNsm(await this.#device.call({ kind: 'DescribeNSM' }));
    const pcrs = new Map<number, Uint8Array>();
    for (const index of [...lockedPcrs].sort((a, b) => a - b)) {
      if (index >= maxPcrs) throw new NsmError('NSM_UNEXPECTED_STATE', `the NSM lists PCR${index} as locked but has only ${maxPcrs}`);
      const pcr = await this.describePcr(index);
      if (!pcr.lock) throw new NsmError('NSM_UNEXPECTED_STATE', `the NSM lists PCR${index} as locked, yet describes it unlocked`);
      pcrs.set(index, pcr.data);
    }
    this.#pcrs = pcrs;
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
