/**
 * `blindbox serve` without --simulate, on the Nitro Secure Module stand-in: the real provider, the real ioctl
 * marshalling and the real client (`blindbox verify`, `blindbox transcribe`), with the stand-in's root trusted as a
 * user would trust it. The application PCR (PCR16) is measured, locked, attested, and pinned by policies.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decoder } from 'cbor-x';
import { runCli, startServe, type ServeProcess } from '../../support/cli.js';
import { NsmStandIn } from '../helpers/nsm-stand-in.js';
import { exchange } from '../../support/raw-client.js';
import { SCRIPT, speak, wordErrorRate } from '../../support/speech.js';

let dir: string;
let nsm: NsmStandIn;
let serve: ServeProcess;
let root: string;

/** A PCR value `serve` announced on stderr. */
const announced = (p: ServeProcess, index: number) => new RegExp(`PCR${index} ([0-9a-f]{96})`).exec(p.stderr())?.[1];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-serve-nsm-'));
  nsm = await NsmStandIn.start(path.join(dir, 'nsm.sock'));
  root = path.join(dir, 'stand-in-root.pem');
  await writeFile(root, nsm.rootPem);
  serve = await startServe(['--engine', 'pocketsphinx', '--workers', '1'], nsm.env);
});
after(async () => {
  await serve?.stop('SIGKILL');
  await nsm?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('blindbox serve on the NSM (stand-in)', () => {
  it('starts on the device: one stdout line, the module named, PCR16 extended once with the measurement and locked, /healthz "nsm"', async () => {
    assert.equal(serve.stdout(), `listening ${serve.url}\n`);
    assert.match(serve.stderr(), new RegExp(`Nitro Secure Module ${nsm.moduleId}`));
    assert.doesNotMatch(serve.stderr(), /SIMULATION/);
    const extends16 = nsm.seen.filter((r) => r.kind === 'ExtendPCR');
    assert.equal(extends16.length, 1);
    assert.equal(extends16[0]!.fields!.get('index'), 16);
    const measurement = extends16[0]!.fields!.get('data') as Uint8Array;
    const expected = createHash('sha384').update(new Uint8Array(48)).update(measurement).digest('hex');
    assert.equal(nsm.hex(16), expected, 'PCR16 = SHA-384(zero ‖ measurement)');
    assert.ok(nsm.locked.has(16), 'and locked');
    assert.equal(announced(serve, 16), expected, 'the value printed at start-up');
    const health = await exchange(serve.url, 'GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n');
    assert.deepEqual(JSON.parse(health!.body), { status: 'ok', attestation: 'nsm' });
  });

  it('blindbox verify accepts it with the root trusted: the device\'s module, PCR0 and PCR16 in the document, user_data not simulated', async () => {
    const r = await runCli(['verify', serve.url, '--trust-root', root, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout);
    assert.equal(json.moduleId, nsm.moduleId);
    assert.equal(json.pcrs['0'], nsm.hex(0));
    assert.equal(json.pcrs['16'], nsm.hex(16));
    assert.equal(Object.keys(json.pcrs).length, 17, 'exactly the locked PCRs');
    const service = new Decoder({ mapsAsObjects: false, useRecords: false }).decode(Buffer.from(json.userData, 'hex')) as Map<string, unknown>;
    assert.equal(service.get('simulation'), false);
    assert.equal(service.get('engine'), 'pocketsphinx');
    assert.ok(nsm.seen.some((s) => s.kind === 'Attestation' && (s.fields!.get('nonce') as Uint8Array).length >= 16), 'the client\'s nonce reached the device');
  });

  it('pins PCR16 from --pcr and from a policy file; a wrong PCR16 is PCR_MISMATCH (exit 1)', async () => {
    const good = await runCli(['verify', serve.url, '--trust-root', root, '--pcr', `16=${nsm.hex(16)}`, '--pcr', `0=${nsm.hex(0)}`]);
    assert.equal(good.code, 0, good.stderr);
    const bad = await runCli(['verify', serve.url, '--trust-root', root, '--pcr', `16=${'ab'.repeat(48)}`, '--json']);
    assert.equal(bad.code, 1);
    assert.equal(JSON.parse(bad.stdout).code, 'PCR_MISMATCH');
    for (const [name, pcr16, code] of [['model.json', nsm.hex(16), 0], ['other-model.json', 'cd'.repeat(48), 1]] as const) {
      const policy = path.join(dir, name);
      await writeFile(policy, JSON.stringify({ name: 'production', pcrs: { 0: nsm.hex(0), 16: pcr16 }, roots: ['stand-in-root.pem'] }));
      const p = await runCli(['verify', serve.url, '--policy', policy, '--json']);
      assert.equal(p.code, code, p.stdout + p.stderr);
      if (code === 1) assert.equal(JSON.parse(p.stdout).code, 'PCR_MISMATCH');
    }
  });

  it('blindbox transcribe: the pinned model transcribes; a policy pinning another model sends nothing', async () => {
    const wav = await speak(dir, 'slt', SCRIPT.slt[0]!, 'nsm');
    const r = await runCli(['transcribe', serve.url, wav, '--trust-root', root, '--pcr', `16=${nsm.hex(16)}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(wordErrorRate(SCRIPT.slt[0]!, r.stdout).rate <= 0.25, r.stdout);
    const served = (serve.stderr().match(/POST \/v1\/audio\/transcriptions/g) ?? []).length;
    const refused = await runCli(['transcribe', serve.url, wav, '--trust-root', root, '--pcr', `16=${'ef'.repeat(48)}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /PCR16/);
    assert.equal((serve.stderr().match(/POST \/v1\/audio\/transcriptions/g) ?? []).length, served, 'no upload reached the server');
  });

  it('the simulation with the same engine reports the same PCR16', async () => {
    const sim = await startServe(['--simulate', '--engine', 'pocketsphinx', '--workers', '1']);
    try {
      assert.equal(announced(sim, 16), nsm.hex(16));
    } finally {
      await sim.stop('SIGKILL');
    }
  });
});

describe('blindbox serve refuses a device it cannot trust to hold the measurement', () => {
  it('PCR16 already extended by something else: exit 3 naming the PCR, nothing listening', async () => {
    const other = await NsmStandIn.start(path.join(dir, 'other.sock'));
    try {
      other.pcrs[16] = new Uint8Array(48).fill(3);
      const r = await runServe(other.env);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /NSM_UNEXPECTED_STATE.*PCR16 was already extended/);
    } finally {
      await other.close();
    }
  });

  it('--trust-out without --simulate, and a per-source cap out of range, are usage errors (exit 2)', async () => {
    const r = await runCli(['serve', '--trust-out', path.join(dir, 'never.pem')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--trust-out goes with --simulate/);
    const cap = await runCli(['serve', '--connections-per-source', '0']);
    assert.equal(cap.code, 2);
    assert.match(cap.stderr, /--connections-per-source must be a whole number from 1 to 4096/);
  });

  it('an NSM error at start-up (InternalError to DescribeNSM): exit 3 with its code', async () => {
    const other = await NsmStandIn.start(path.join(dir, 'broken.sock'));
    try {
      other.override = () => ({ bytes: new Uint8Array(Buffer.from('a1654572726f726d496e7465726e616c4572726f72', 'hex')) }); // {"Error": "InternalError"}
      const r = await runServe(other.env);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /NSM_INTERNAL_ERROR/);
    } finally {
      await other.close();
    }
  });
});

/** `blindbox serve` expected to stop by itself. */
function runServe(env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return runCli(['serve'], 30_000);
  } finally {
    process.env = saved;
  }
}
