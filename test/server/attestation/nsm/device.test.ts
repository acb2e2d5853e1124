/**
 * The NSM device path on a machine without one: the nsm addon's real ioctl, intercepted by the LD_PRELOAD stand-in
 * and answered by the test NSM, which also plays the hostile or broken device (error, malformed, oversize answers).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Encoder } from 'cbor-x';
import { NsmStandIn } from '../../../helpers/nsm-stand-in.js';
import type { ProbeOp, ProbeResult } from '../../../helpers/nsm-probe.js';

const PROBE = fileURLToPath(new URL('../../../helpers/nsm-probe.js', import.meta.url));
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false, variableMapSize: true });
const cbor = (v: unknown) => encoder.encode(v);
const sha384 = (...parts: Uint8Array[]) => {
  const h = createHash('sha384');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ZERO = new Uint8Array(48);

let dir: string;
let nsm: NsmStandIn;

async function probe(ops: ProbeOp[], env: Record<string, string> = nsm.env): Promise<ProbeResult[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [PROBE, JSON.stringify(ops)], { env: { ...process.env, ...env }, timeout: 20_000 });
  return JSON.parse(stdout) as ProbeResult[];
}

before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'blindbox-nsm-'))));
after(() => rm(dir, { recursive: true, force: true }));
beforeEach(async () => (nsm = await NsmStandIn.start(path.join(dir, 'nsm.sock'))));
afterEach(() => nsm.close());

describe('PCRs through the device', () => {
  it('extends with SHA-384(old ‖ data), locks, and then refuses to extend (READ_ONLY_INDEX), as it does PCR0..15', async () => {
    const once = sha384(ZERO, new Uint8Array([0xaa]));
    const twice = sha384(once, new Uint8Array([0xbb]));
    const results = await probe([
      { op: 'describePcr', index: 16 },
      { op: 'extend', index: 16, data: 'aa' },
      { op: 'extend', index: 16, data: 'bb' },
      { op: 'lock', index: 16 },
      { op: 'describePcr', index: 16 },
      { op: 'extend', index: 16, data: 'cc' },
      { op: 'extend', index: 0, data: 'cc' },
      { op: 'describePcr', index: 32 },
      { op: 'lock', index: 40 },
    ]);
    assert.deepEqual(results.slice(0, 5), [{ ok: { lock: false, data: hex(ZERO) } }, { ok: hex(once) }, { ok: hex(twice) }, { ok: 'locked' }, { ok: { lock: true, data: hex(twice) } }]);
    assert.deepEqual(results.slice(5).map((r) => ('error' in r ? r.error : r.ok)), ['NSM_READ_ONLY_INDEX', 'NSM_READ_ONLY_INDEX', 'NSM_INVALID_INDEX', 'NSM_INVALID_INDEX']);
    assert.equal(hex(nsm.pcrs[16]!), hex(twice), 'the device holds what the caller was told');
  });

  it('measureAndLock: a fresh PCR is extended once and locked; a restart finding it locked at that value goes on; any other state is refused', async () => {
    const measurement = sha384(new TextEncoder().encode('model'));
    const expected = sha384(ZERO, measurement);
    const op = { op: 'measureAndLock', index: 16, measurement: hex(measurement), expected: hex(expected) } as const;
    const [first] = await probe([op]);
    assert.ok(first && 'ok' in first, JSON.stringify(first));
    assert.equal((first.ok as Record<string, string>)['16'], hex(expected));
    assert.equal(Object.keys(first.ok as object).length, 17, 'PCR0..15 and PCR16 are the locked ones');
    assert.deepEqual(await probe([op]), [first], 'the same enclave restarting the server');
    const other = { ...op, index: 17 };
    assert.deepEqual((await probe([{ op: 'extend', index: 17, data: '00' }, other]))[1]?.['error' as never], 'NSM_UNEXPECTED_STATE');
    const locked = { ...op, index: 18, expected: hex(sha384(ZERO, sha384(measurement))) };
    assert.deepEqual((await probe([{ op: 'extend', index: 18, data: hex(measurement) }, { op: 'lock', index: 18 }, locked]))[2]?.['error' as never], 'NSM_UNEXPECTED_STATE');
  });

  it('refuses a device that extends to another value than SHA-384(old ‖ data)', async () => {
    nsm.override = (r) => (r.kind === 'ExtendPCR' ? { bytes: cbor(new Map([['ExtendPCR', new Map([['data', new Uint8Array(48).fill(1)]])]])) } : undefined);
    const measurement = sha384(new Uint8Array([1]));
    const [r] = await probe([{ op: 'measureAndLock', index: 16, measurement: hex(measurement), expected: hex(sha384(ZERO, measurement)) }]);
    assert.equal((r as { error: string }).error, 'NSM_UNEXPECTED_STATE');
    assert.ok(!nsm.seen.some((s) => s.kind === 'LockPCR'), 'nothing is locked at a wrong value');
  });

  it('GetRandom and Attestation answer through the ioctl', async () => {
    const [random, document] = await probe([{ op: 'random' }, { op: 'attest', nonce: 'ab'.repeat(16) }]);
    assert.deepEqual(random, { ok: 256 });
    assert.ok(document && 'ok' in document && (document.ok as number) > 1000, JSON.stringify(document));
    const seen = nsm.seen.find((s) => s.kind === 'Attestation')!;
    assert.equal(hex(seen.fields!.get('nonce') as Uint8Array), 'ab'.repeat(16));
    assert.equal(seen.fields!.get('user_data'), null);
  });
});

describe('concurrency', () => {
  it('answers eight attestations in flight at once on one descriptor, each with its own nonce', async () => {
    const [r] = await probe([{ op: 'attestConcurrently', count: 8 }]);
    assert.deepEqual(r, { ok: Array(8).fill(true) });
    const nonces = nsm.seen.filter((s) => s.kind === 'Attestation').map((s) => (s.fields!.get('nonce') as Uint8Array)[0]);
    assert.deepEqual([...nonces].sort(), [0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('a broken or hostile device', () => {
  it('passes every NSM error answer on as its typed error', async () => {
    const names = ['InvalidArgument', 'InvalidIndex', 'InvalidResponse', 'ReadOnlyIndex', 'InvalidOperation', 'BufferTooSmall', 'InputTooLarge', 'InternalError', 'Success'];
    let next = 0;
    nsm.override = () => ({ bytes: cbor(new Map([['Error', names[next++]]])) });
    const results = await probe(names.map(() => ({ op: 'random' })));
    assert.deepEqual(
      results.map((r) => ('error' in r ? r.error : r)),
      ['NSM_INVALID_ARGUMENT', 'NSM_INVALID_INDEX', 'NSM_INVALID_RESPONSE', 'NSM_READ_ONLY_INDEX', 'NSM_INVALID_OPERATION', 'NSM_BUFFER_TOO_SMALL', 'NSM_INPUT_TOO_LARGE', 'NSM_INTERNAL_ERROR', 'NSM_SUCCESS_AS_ERROR'],
    );
  });

  it('calls garbage, an empty answer and an answer to another request malformed', async () => {
    const answers = [new Uint8Array([0xde, 0xad]), new Uint8Array(0), cbor(new Map([['GetRandom', new Map([['random', new Uint8Array(4)]])]]))];
    let next = 0;
    nsm.override = () => ({ bytes: answers[next++]! });
    const results = await probe([{ op: 'describePcr', index: 16 }, { op: 'random' }, { op: 'attest', nonce: '00' }]);
    assert.deepEqual(results.map((r) => ('error' in r ? r.error : r)), ['NSM_MALFORMED_RESPONSE', 'NSM_MALFORMED_RESPONSE', 'NSM_MALFORMED_RESPONSE']);
  });

  it('takes an answer of exactly 12 KiB, and an answer over it is the driver\'s EMSGSIZE (NSM_RESPONSE_TOO_LARGE)', async () => {
    const answer = (documentBytes: number) => cbor(new Map([['Attestation', new Map([['document', new Uint8Array(documentBytes).fill(9)]])]]));
    const fits = answer(0x3000 - 26);
    assert.equal(fits.length, 0x3000);
    const sizes = [fits, answer(0x3000 - 25), answer(64 * 1024)];
    let next = 0;
    nsm.override = () => (next < sizes.length ? { bytes: sizes[next++]! } : undefined);
    const results = await probe([{ op: 'attest', nonce: '00' }, { op: 'attest', nonce: '00' }, { op: 'attest', nonce: '00' }, { op: 'random' }]);
    assert.deepEqual(results[0], { ok: 0x3000 - 26 });
    assert.equal((results[1] as { error: string }).error, 'NSM_RESPONSE_TOO_LARGE');
    assert.equal((results[2] as { error: string }).error, 'NSM_RESPONSE_TOO_LARGE');
    assert.deepEqual(results[3], { ok: 256 }, 'the device still answers after refusing an oversize answer');
  });

  it('turns a failed ioctl (EIO) into NSM_DEVICE_ERROR naming the errno', async () => {
    nsm.override = () => ({ errno: 5 });
    const [r] = await probe([{ op: 'random' }]);
    assert.equal((r as { error: string }).error, 'NSM_DEVICE_ERROR');
    assert.match((r as { message: string }).message, /NSM_IOCTL_RAW: Input\/output error/);
  });

  it('says NSM_DEVICE_MISSING where there is no /dev/nsm', async () => {
    const [withoutStandIn] = await probe([], {});
    assert.equal((withoutStandIn as { error: string }).error, 'NSM_DEVICE_MISSING');
    const [standInDown] = await probe([], { ...nsm.env, BLINDBOX_TEST_NSM_SOCKET: path.join(dir, 'nowhere.sock') });
    assert.equal((standInDown as { error: string }).error, 'NSM_DEVICE_MISSING');
  });
});
