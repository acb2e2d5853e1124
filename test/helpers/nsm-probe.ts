/**
 * Runs NSM operations through the real device code (the nsm addon's ioctl, messages.ts, the provider) and prints
 * each outcome as JSON: run it as a child process with a stand-in's `env`, since LD_PRELOAD only takes at start.
 *   node nsm-probe.js '[{"op":"extend","index":16,"data":"aa"}, …]'
 */
import { NsmDevice } from '../../src/server/attestation/nsm/device.js';
import { NsmError } from '../../src/server/attestation/nsm/errors.js';
import { parseAttestation, parseDescribeNsm, parseDescribePcr, parseExtendPcr, parseGetRandom, parseUnit } from '../../src/server/attestation/nsm/messages.js';
import { NsmAttestationProvider } from '../../src/server/attestation/nsm/provider.js';

/** One operation of a probe run. */
export type ProbeOp =
  | { readonly op: 'describeNsm' | 'random' }
  | { readonly op: 'describePcr' | 'lock'; readonly index: number }
  | { readonly op: 'extend'; readonly index: number; readonly data: string }
  | { readonly op: 'attest'; readonly nonce: string }
  | { readonly op: 'attestConcurrently'; readonly count: number }
  | { readonly op: 'measureAndLock'; readonly index: number; readonly measurement: string; readonly expected: string };

/** Its outcome: a JSON-able value, or the NsmError's code and message. */
export type ProbeResult = { readonly ok: unknown } | { readonly error: string; readonly message: string };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

async function run(device: NsmDevice, op: ProbeOp): Promise<unknown> {
  switch (op.op) {
    case 'describeNsm':
      return parseDescribeNsm(await device.call({ kind: 'DescribeNSM' }));
    case 'random':
      return parseGetRandom(await device.call({ kind: 'GetRandom' })).length;
    case 'describePcr': {
      const pcr = parseDescribePcr(await device.call({ kind: 'DescribePCR', index: op.index }));
      return { lock: pcr.lock, data: hex(pcr.data) };
    }
    case 'lock':
      parseUnit(await device.call({ kind: 'LockPCR', index: op.index }), 'LockPCR');
      return 'locked';
    case 'extend':
      return hex(parseExtendPcr(await device.call({ kind: 'ExtendPCR', index: op.index, data: bytes(op.data) })));
    case 'attest':
      return parseAttestation(await device.call({ kind: 'Attestation', userData: null, nonce: bytes(op.nonce), publicKey: null })).length;
    case 'attestConcurrently': {
      // As the server does under load: several ioctls in flight at once on one descriptor.
      const nonces = Array.from({ length: op.count }, (_, i) => new Uint8Array(32).fill(i));
      const documents = await Promise.all(nonces.map((nonce) => device.call({ kind: 'Attestation', userData: null, nonce, publicKey: null }).then(parseAttestation)));
      return documents.map((d) => d.length > 1000);
    }
    case 'measureAndLock': {
      const provider = await NsmAttestationProvider.open();
      try {
        await provider.measureAndLock(op.index, bytes(op.measurement), bytes(op.expected));
        return Object.fromEntries([...provider.pcrs].map(([i, v]) => [i, hex(v)]));
      } finally {
        provider.close();
      }
    }
  }
}

const outcome = (err: unknown): ProbeResult => (err instanceof NsmError ? { error: err.code, message: err.message } : { error: 'UNEXPECTED', message: String(err) });

const results: ProbeResult[] = [];
try {
  const device = NsmDevice.open();
  try {
    for (const op of JSON.parse(process.argv[2] ?? '[]') as ProbeOp[]) {
      try {
        results.push({ ok: await run(device, op) });
      } catch (err) {
        results.push(outcome(err));
      }
    }
  } finally {
    device.close();
  }
} catch (err) {
  results.push(outcome(err));
}
process.stdout.write(JSON.stringify(results));
