/**
 * The Nitro Secure Module device (/dev/nsm) through the server's `nsm` addon (native/nsm.c, built by
 * scripts/build-native.sh): one raw CBOR request per NSM_IOCTL_RAW. This module owns the descriptor and turns the
 * driver's errno values into NsmErrors; what the bytes mean is messages.ts's business.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.js';
import { NsmError } from './errors.js';
import { decodeNsmResponse, encodeNsmRequest, type NsmRequest } from './messages.js';

/** Where the Linux driver puts the device. */
export const NSM_DEVICE_PATH = '/dev/nsm';

interface Addon {
  open(path: string): number;
  raw(fd: number, request: Uint8Array): Promise<Buffer>;
  close(fd: number): void;
}

const ADDON_PATH = path.join(PACKAGE_ROOT, 'build', 'Release', 'nsm.node');

function loadAddon(): Addon {
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (err) {
    throw new NsmError('NSM_DEVICE_ERROR', `the NSM addon is not built (${ADDON_PATH}): run bash scripts/build-native.sh`, { cause: err });
  }
}

export class NsmDevice {
  #fd: number | undefined;
  /**
   * The end of the calls queued so far. The device serves one message at a time (the driver holds a mutex), and the
   * addon runs each ioctl on libuv's pool: calls made at once would each hold one of its few threads waiting for the
   * device, while file I/O (every upload) needs them. So calls go to the addon one after another: at most one pool
   * thread is ever the NSM's.
   */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #addon: Addon;

  private constructor(
    addon: Addon,
    fd: number,
  ) {
    this.#addon = addon;
    this.#fd = fd;
  }

  /** Opens the device; `NSM_DEVICE_MISSING` when there is none (not an enclave), `NSM_DEVICE_ERROR` otherwise. */
  static open(devicePath: string = NSM_DEVICE_PATH): NsmDevice {
    const addon = loadAddon();
    try {
      return new NsmDevice(addon, addon.open(devicePath));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENXIO' || code === 'ENODEV') {
        throw new NsmError('NSM_DEVICE_MISSING', `there is no Nitro Secure Module at ${devicePath} (${code}): this is not a Nitro enclave`, { cause: err });
      }
      throw new NsmError('NSM_DEVICE_ERROR', `cannot open the Nitro Secure Module ${devicePath}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Sends `request` once the calls before it are answered, and returns the body of the NSM's answer (see
   * decodeNsmResponse); NSM errors are thrown.
   */
  call(request: NsmRequest): Promise<Map<unknown, unknown> | null> {
    const bytes = encodeNsmRequest(request);
    const answer = this.#queue.then(() => this.#send(request, bytes));
    this.#queue = answer.catch(() => undefined);
    return answer;
  }

  async #send(request: NsmRequest, bytes: Uint8Array): Promise<Map<unknown, unknown> | null> {
    if (this.#fd === undefined) throw new NsmError('NSM_DEVICE_ERROR', 'the NSM device is closed');
    let response: Buffer;
    try {
      response = await this.#addon.raw(this.#fd, bytes);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EMSGSIZE') throw new NsmError('NSM_RESPONSE_TOO_LARGE', `the NSM's answer to ${request.kind} is larger than the driver's 12 KiB (EMSGSIZE)`, { cause: err });
      throw new NsmError('NSM_DEVICE_ERROR', `the NSM ioctl for ${request.kind} failed: ${(err as Error).message}`, { cause: err });
    }
    return decodeNsmResponse(new Uint8Array(response.buffer, response.byteOffset, response.length), request.kind);
  }

  /** Closes the descriptor (idempotent). */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    this.#addon.close(fd);
  }
}
