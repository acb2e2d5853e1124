/**
 * A test Nitro Secure Module: what test/native/nsm-preload.c forwards /dev/nsm's ioctls to. It decodes each raw
 * request itself (cbor-x, not the server's messages.ts, so the two sides do not share a mistake) and answers as the
 * NSM does: 32 SHA-384 PCRs, 0..15 locked at boot, extension = SHA-384(old ‖ data), a locked PCR refuses extension
 * (ReadOnlyIndex), an index past 31 is InvalidIndex, documents carry exactly the locked PCRs and are signed by a
 * simulation CA (the project's simulation code). A test can replace any answer with raw bytes or an errno.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Decoder, Encoder } from 'cbor-x';
import { toPem } from '../../src/server/attestation/certificates.js';
import { issueAttestationDocument } from '../../src/server/attestation/document.js';
import { createNitroChain, type NitroChain } from '../../src/server/attestation/nitro-chain.js';

/** The LD_PRELOAD library scripts/build-native.sh builds. */
export const NSM_PRELOAD = fileURLToPath(new URL('../../../test/native/build/libnsm-preload.so', import.meta.url));

const MAX_PCRS = 32;
const BOOT_LOCKED = 16;

/** What the stand-in sends back for one request: CBOR bytes, or a failed ioctl with this errno. */
export type Answer = { readonly bytes: Uint8Array } | { readonly errno: number };

/** A decoded request as the stand-in saw it: the variant name and its fields. */
export interface SeenRequest {
  readonly kind: string;
  readonly fields: Map<string, unknown> | undefined;
  readonly raw: Uint8Array;
}

const decoder = new Decoder({ mapsAsObjects: false, useRecords: false });
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });

export class NsmStandIn {
  readonly pcrs: Uint8Array[] = Array.from({ length: MAX_PCRS }, () => new Uint8Array(48));
  readonly locked = new Set<number>(Array.from({ length: BOOT_LOCKED }, (_, i) => i));
  readonly seen: SeenRequest[] = [];
  readonly moduleId = `i-${randomBytes(8).toString('hex')}-enc${randomBytes(8).toString('hex')}`;
  /** Consulted first for every request: an answer replaces the NSM's own. */
  override: ((request: SeenRequest) => Answer | undefined) | undefined;
  /** While set, every Attestation is answered only once it resolves (a device busy signing). */
  hold: Promise<void> | undefined;
  readonly #sockets = new Set<Socket>();

  readonly #server: Server;
  readonly #chain: NitroChain;

  private constructor(
    readonly socketPath: string,
    server: Server,
    chain: NitroChain,
  ) {
    this.#server = server;
    this.#chain = chain;
    // An "image": PCR0..2 as nitro-cli would have measured them, fixed for the enclave's life.
    for (const i of [0, 1, 2]) this.pcrs[i] = new Uint8Array(createHash('sha384').update(`stand-in image PCR${i}`).digest());
  }

  /** Listens on `socketPath` (the BLINDBOX_TEST_NSM_SOCKET of the process under test). */
  static async start(socketPath: string): Promise<NsmStandIn> {
    const chain = await createNitroChain(new Date());
    const server = createServer();
    const standIn = new NsmStandIn(socketPath, server, chain);
    server.on('connection', (socket) => standIn.#serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, resolve);
    });
    return standIn;
  }

  /** The simulation root its documents chain to, for the client to trust. */
  get rootPem(): string {
    return toPem(this.#chain.root.der);
  }

  /** The environment a process needs to see this stand-in as /dev/nsm. */
  get env(): Record<string, string> {
    return { LD_PRELOAD: NSM_PRELOAD, BLINDBOX_TEST_NSM_SOCKET: this.socketPath };
  }

  hex(index: number): string {
    return Buffer.from(this.pcrs[index]!).toString('hex');
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    let busy = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        const raw = new Uint8Array(buffered.subarray(4, 4 + buffered.readUInt32BE(0)));
        buffered = buffered.subarray(4 + raw.length);
        // One answer at a time, in order, as the device's mutex would have it.
        // A stand-in that fails to answer hangs up, so the caller's ioctl fails (EIO) instead of waiting forever.
        busy = busy.then(async () => {
          socket.write(frame(await this.#answer(raw)));
        }).catch(() => void socket.destroy());
      }
    });
  }

  async #answer(raw: Uint8Array): Promise<Answer> {
    const request = parse(raw);
    this.seen.push(request);
    if (request.kind === 'Attestation') await this.hold;
    const forced = this.override?.(request);
    if (forced) return forced;
    return { bytes: encoder.encode(await this.#respond(request)) };
  }

  async #respond({ kind, fields }: SeenRequest): Promise<unknown> {
    const index = fields?.get('index');
    const validIndex = typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < MAX_PCRS;
    const variant = (name: string, body: [string, unknown][]) => new Map([[name, new Map(body)]]);
    switch (kind) {
      case 'DescribeNSM':
        return variant('DescribeNSM', [
          ['version_major', 1], ['version_minor', 0], ['version_patch', 0], ['module_id', this.moduleId], ['max_pcrs', MAX_PCRS],
          ['locked_pcrs', [...this.locked].sort((a, b) => a - b)], ['digest', 'SHA384'],
        ]);
      case 'DescribePCR':
        if (!validIndex) return nsmError('InvalidIndex');
        return variant('DescribePCR', [['lock', this.locked.has(index)], ['data', this.pcrs[index]]]);
      case 'ExtendPCR': {
        const data = fields?.get('data');
        if (!validIndex) return nsmError('InvalidIndex');
        if (!(data instanceof Uint8Array)) return nsmError('InvalidArgument');
        if (this.locked.has(index)) return nsmError('ReadOnlyIndex');
        this.pcrs[index] = new Uint8Array(createHash('sha384').update(this.pcrs[index]!).update(data).digest());
        return variant('ExtendPCR', [['data', this.pcrs[index]]]);
      }
      case 'LockPCR':
        if (!validIndex) return nsmError('InvalidIndex');
        this.locked.add(index);
        return 'LockPCR';
      case 'GetRandom':
        return variant('GetRandom', [['random', randomBytes(256)]]);
      case 'Attestation': {
        const bytes = (name: string) => (fields?.get(name) instanceof Uint8Array ? (fields.get(name) as Uint8Array) : null);
        const pcrs = new Map([...this.locked].sort((a, b) => a - b).map((i) => [i, this.pcrs[i]!] as const));
        const document = await issueAttestationDocument(
          { moduleId: this.moduleId, timestamp: Date.now(), pcrs, nonce: bytes('nonce'), publicKey: bytes('public_key'), userData: bytes('user_data') },
          this.#chain,
        );
        return variant('Attestation', [['document', document]]);
      }
      default:
        return nsmError('InvalidOperation');
    }
  }
}

function nsmError(code: string): Map<string, string> {
  return new Map([['Error', code]]);
}

function parse(raw: Uint8Array): SeenRequest {
  let value: unknown;
  try {
    value = decoder.decode(raw);
  } catch {
    return { kind: '(not CBOR)', fields: undefined, raw };
  }
  if (typeof value === 'string') return { kind: value, fields: undefined, raw };
  if (value instanceof Map && value.size === 1) {
    const [[kind, fields]] = [...value] as [[unknown, unknown]];
    return { kind: String(kind), fields: fields instanceof Map ? (fields as Map<string, unknown>) : undefined, raw };
  }
  return { kind: '(not a request)', fields: undefined, raw };
}

function frame(answer: Answer): Buffer {
  const bytes = 'bytes' in answer ? answer.bytes : new Uint8Array(0);
  const head = Buffer.alloc(8);
  head.writeUInt32BE('errno' in answer ? answer.errno : 0, 0);
  head.writeUInt32BE(bytes.length, 4);
  return Buffer.concat([head, bytes]);
}
