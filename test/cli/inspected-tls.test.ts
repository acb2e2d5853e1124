/**
 * `blindbox transcribe` through a real TLS-inspecting CONNECT proxy on loopback (support/connect-proxy.ts), against
 * `serve --simulate` named `enclave.test`: with `--allow-inspected-tls` and the inspection CA trusted (NODE_EXTRA_CA_CERTS,
 * or `--inspection-ca`) the audio goes sealed to the enclave and the proxy decrypted none of it; without the flag it
 * is refused as before, and with the flag but an untrusted CA too.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { startNamedSimulation, type NamedSimulation } from '../helpers/named-simulation.js';
import { enclaveProxies, type ConnectProxy } from '../../support/connect-proxy.js';
import { scratchDir } from '../../support/speech.js';
import { audioWindowsIn, requestLines } from '../helpers/cleartext-audio.js';

const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$|^NODE_EXTRA_CA_CERTS$/i.test(name)));

let sim: NamedSimulation;
let scratch: Awaited<ReturnType<typeof scratchDir>>;
let audio: Buffer;
const proxies = enclaveProxies();
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, 120_000, { ...CLEAN_ENV, ...env });

/** An inspecting proxy and its CA certificate in a PEM file. */
async function inspecting(): Promise<{ p: ConnectProxy; caFile: string }> {
  const p = await proxies.start({ inspect: true });
  const caFile = path.join(scratch.dir, `inspection-ca-${p.url.split(':').at(-1)}.pem`);
  await writeFile(caFile, p.caCertificate!.toString());
  return { p, caFile };
}

before(async () => {
  sim = await startNamedSimulation(['--engine', 'pocketsphinx', '--workers', '1']);
  scratch = await scratchDir();
  audio = await readFile(SAMPLE);
});

after(async () => {
  await proxies.closeAll();
  await sim?.close();
  await scratch?.dispose();
});

describe('blindbox transcribe through a TLS-inspecting proxy', () => {
  it('--allow-inspected-tls with the CA in NODE_EXTRA_CA_CERTS: transcribed, said so, and no cleartext audio at the proxy', async () => {
    const { p, caFile } = await inspecting();
    const r = await cli(['transcribe', sim.named, SAMPLE, '--trust-root', sim.rootPem, '--allow-inspected-tls'], { HTTPS_PROXY: p.url, NODE_EXTRA_CA_CERTS: caFile });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(r.stdout.trim().length > 0, 'a transcript');
    assert.match(r.stderr, /TLS inspected by "O=Example Corp \+ CN=Example Corp TLS Inspection CA"; audio end-to-end encrypted to the enclave/);
    assert.deepEqual(requestLines(p.decrypted()), ['GET /attestation?nonce=…', 'POST /v1/audio/transcriptions']);
    assert.ok(p.decrypted().length > audio.length, 'the sealed body crossed the proxy');
    assert.equal(audioWindowsIn(p.decrypted(), audio), 0, 'no cleartext audio at the proxy');
  });

  it('--inspection-ca does the same without the environment', async () => {
    const { p, caFile } = await inspecting();
    const r = await cli(['transcribe', sim.named, SAMPLE, '--trust-root', sim.rootPem, '--allow-inspected-tls', '--inspection-ca', caFile], { HTTPS_PROXY: p.url });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(audioWindowsIn(p.decrypted(), audio), 0);
  });

  it('is refused without --allow-inspected-tls (TLS_BINDING_MISMATCH), and with it but an untrusted CA (INSPECTED_TLS_UNTRUSTED): nothing but attestation requests decrypted', async () => {
    const { p, caFile } = await inspecting();
    const refused = await cli(['transcribe', sim.named, SAMPLE, '--trust-root', sim.rootPem], { HTTPS_PROXY: p.url, NODE_EXTRA_CA_CERTS: caFile });
    assert.equal(refused.code, 1, refused.stderr + refused.stdout);
    assert.match(refused.stdout + refused.stderr, /TLS_BINDING_MISMATCH/);
    const untrusted = await cli(['transcribe', sim.named, SAMPLE, '--trust-root', sim.rootPem, '--allow-inspected-tls'], { HTTPS_PROXY: p.url });
    assert.equal(untrusted.code, 1, untrusted.stderr + untrusted.stdout);
    assert.match(untrusted.stdout + untrusted.stderr, /INSPECTED_TLS_UNTRUSTED: .*Example Corp TLS Inspection CA.*not valid for this system's trust store/);
    assert.ok(requestLines(p.decrypted()).every((line) => line === 'GET /attestation?nonce=…'), requestLines(p.decrypted()).join(', '));
    assert.equal(audioWindowsIn(p.decrypted(), audio), 0);
  });

  it('--inspection-ca without --allow-inspected-tls is a usage error, before anything is sent', async () => {
    const { p, caFile } = await inspecting();
    const r = await cli(['transcribe', sim.named, SAMPLE, '--trust-root', sim.rootPem, '--inspection-ca', caFile], { HTTPS_PROXY: p.url });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--inspection-ca is only used with --allow-inspected-tls/);
    assert.equal(p.tunnels.length, 0);
  });
});
