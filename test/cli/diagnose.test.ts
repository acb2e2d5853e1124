/**
 * `blindbox diagnose` as a user runs it, against real loopback servers: `serve --simulate`, the same server behind a
 * real CONNECT proxy under a name only the proxy resolves (support/connect-proxy.ts), a TLS-inspecting proxy, a proxy
 * that wants credentials, and a port nobody listens on.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runCli, type ServeProcess } from '../../support/cli.js';
import { startNamedSimulation, type NamedSimulation } from '../helpers/named-simulation.js';
import { enclaveProxies } from '../../support/connect-proxy.js';
import { startStallingServer, startTlsServer } from '../../support/servers.js';
import { scratchDir } from '../../support/speech.js';
import { generateSigningKeys, issueCertificate } from '../../src/server/attestation/certificates.js';
import { createTlsIdentity, type TlsIdentity } from '../../src/server/tls-identity.js';
import { startHostileEnclave } from '../helpers/hostile-enclave.js';
import { assertEscapedOutput, WORDS } from '../helpers/foreign-text.js';
import type { DiagnosticReport } from '../../src/core/diagnose/report.js';

/** This process's environment without any proxy variable: each test sets the ones it means. */
const CLEAN_ENV = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)));

let sim: NamedSimulation;
let serve: ServeProcess;
let rootPem: string;
let named: string;
let hostPort: string;
const proxies = enclaveProxies();
const cli = (args: string[], env: Record<string, string> = {}) => runCli(['diagnose', ...args], 60_000, { ...CLEAN_ENV, ...env });
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const json = async (args: string[], env: Record<string, string> = {}) => {
  const r = await cli([...args, '--json'], env);
  return { code: r.code, report: JSON.parse(r.stdout) as DiagnosticReport, stderr: r.stderr };
};
/** Each step's id and status, in order: what a reader scans first. */
const statuses = (report: DiagnosticReport) => report.steps.map((s) => `${s.id}:${s.status}`).join(' ');
const fact = (report: DiagnosticReport, id: string, label: string) => report.steps.find((s) => s.id === id)?.facts.find(([l]) => l === label)?.[1];

before(async () => {
  sim = await startNamedSimulation(['--engine', 'none']);
  ({ serve, rootPem, named, hostPort } = sim);
});

after(async () => {
  await proxies.closeAll();
  await sim?.close();
});

describe('blindbox diagnose', () => {
  it('a healthy simulation server: every step ok, the presented key is the attested one, exit 0', async () => {
    const r = await cli([serve.url, '--trust-root', rootPem]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^----- BlindBox network diagnostics -----\n/);
    assert.match(r.stdout, /\nresult {4}every step passed\n/);
    // Who made the report, for the ticket it is pasted into.
    const client = `blindbox ${PACKAGE_VERSION} (Node ${process.version}, ${process.platform}-${process.arch})`;
    assert.ok(r.stdout.includes(`\nclient    ${client}\nresult `), r.stdout);
    for (const [i, title] of ['Server URL', 'Route', 'Name resolution', 'TCP connection', 'TLS', 'Attestation', 'Presented TLS key'].entries()) {
      assert.match(r.stdout, new RegExp(`\\n\\[ok\\] {6}${i + 1}\\. ${title}`));
    }
    assert.match(r.stdout, /why +the server is this machine/);
    assert.match(r.stdout, /verdict +VERIFIED, SIMULATION/);
    const { report } = await json([serve.url, '--trust-root', rootPem]);
    assert.equal(report.ok, true);
    assert.equal((report as DiagnosticReport & { client?: string }).client, client);
    assert.equal(fact(report, 'binding', 'presented key SHA-256'), fact(report, 'attestation', 'attested key SHA-256'));
    assert.equal(fact(report, 'tls', 'key SHA-256'), fact(report, 'attestation', 'attested key SHA-256'));
  });

  it('behind a CONNECT proxy with a name only the proxy resolves: resolution is the proxy\'s, the tunnel and attestation pass', async () => {
    const p = await proxies.start();
    const { code, report } = await json([named, '--trust-root', rootPem], { HTTPS_PROXY: p.url });
    assert.equal(code, 0, JSON.stringify(report, null, 1));
    assert.equal(statuses(report), 'url:ok route:ok resolve:skipped connect:ok tls:ok attestation:ok binding:ok');
    assert.equal(fact(report, 'route', 'route'), `through proxy ${p.url}`);
    assert.match(fact(report, 'route', 'why')!, /HTTPS_PROXY/);
    assert.match(report.steps[2]!.note!, /the proxy resolves enclave\.test/);
    assert.equal(fact(report, 'connect', 'tunnel'), `CONNECT ${hostPort}: 200, tunnel open`);
    assert.equal(fact(report, 'attestation', 'route'), `through proxy ${p.url}`);
    // The TLS step's tunnel and the attestation's: nothing else went through the proxy.
    assert.deepEqual(p.tunnels, [{ target: hostPort, status: 200 }, { target: hostPort, status: 200 }]);
    // Without the proxy the same name does not resolve, and the report says where it stopped and what to try.
    const direct = await cli([named, '--trust-root', rootPem, '--no-proxy']);
    assert.equal(direct.code, 1, direct.stderr);
    assert.match(direct.stdout, /result {4}FAILED at step 3: Name resolution\n/);
    assert.match(direct.stdout, /error +SERVER_UNREACHABLE: The name enclave\.test does not resolve on this machine \((ENOTFOUND|EAI_AGAIN)\)\.\n/);
    assert.match(direct.stdout, /why +proxies are switched off \(--no-proxy/);
  });

  it('a TLS-inspecting proxy: the report names TLS inspection and the issuer, and fails at attestation', async () => {
    const p = await proxies.start({ inspect: true });
    const r = await cli([named, '--trust-root', rootPem, '--proxy', p.url]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /result {4}FAILED at step 6: Attestation/);
    assert.match(r.stdout, /\[ok\] {6}5\. TLS: the certificate the network presents\n +protocol +TLSv1\.[23]\n +subject +"CN=enclave\.test"\n +issuer +"O=Example Corp \+ CN=Example Corp TLS Inspection CA"\n/);
    assert.match(r.stdout, /\[FAILED\]  7\. Presented TLS key against the attested key\n/);
    assert.match(r.stdout, /error +TLS_BINDING_MISMATCH: TLS inspection: the network presents a certificate issued by "O=Example Corp \+ CN=Example Corp TLS Inspection CA", not the key the enclave attested: a TLS-inspecting proxy or firewall/);
    assert.match(r.stdout, new RegExp(`exempt ${hostPort.replace('.', '\\.')} from TLS inspection`));
    // What the proxy decrypted: attestation requests, nothing else.
    const requests = p.decrypted().toString('latin1').split('\r\n\r\n').filter(Boolean);
    assert.ok(requests.length >= 1 && requests.every((q) => /^GET \/attestation\?nonce=[0-9a-f]{64} HTTP\/1\.1\r\n/.test(q)), requests.join('|'));
  });

  it('a TLS-inspecting proxy with --allow-inspected-tls: every step passes, and the binding says the audio goes sealed; an untrusted inspector is refused', async () => {
    const p = await proxies.start({ inspect: true });
    const caFile = path.join(rootPem, '..', `inspection-ca-${p.url.split(':').at(-1)}.pem`);
    await writeFile(caFile, p.caCertificate!.toString());
    const r = await cli([named, '--trust-root', rootPem, '--proxy', p.url, '--allow-inspected-tls', '--inspection-ca', caFile]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\nresult {4}every step passed\n/);
    assert.match(r.stdout, /\[ok\] {6}7\. Presented TLS key against the attested key\n(.+\n)* +issuer +"O=Example Corp \+ CN=Example Corp TLS Inspection CA"\n +note +TLS inspected by "O=Example Corp \+ CN=Example Corp TLS Inspection CA", allowed: the audio goes sealed end to end to the enclave's attested HPKE key/);
    // Allowed, but the inspector's certificate is valid for no trust store given: the session's own refusal.
    const untrusted = await cli([named, '--trust-root', rootPem, '--proxy', p.url, '--allow-inspected-tls']);
    assert.equal(untrusted.code, 1, untrusted.stderr + untrusted.stdout);
    assert.match(untrusted.stdout, /error +INSPECTED_TLS_UNTRUSTED: /);
  });

  it('a dead port: the TCP step fails naming the route, the later steps are skipped', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { code, report } = await json([`https://127.0.0.1:${port}`, '--trust-root', rootPem]);
    assert.equal(code, 1);
    assert.equal(report.ok, false);
    assert.equal(statuses(report), 'url:ok route:ok resolve:ok connect:failed tls:skipped attestation:skipped binding:skipped');
    assert.deepEqual(report.steps[3]!.error, { code: 'SERVER_UNREACHABLE', message: `Cannot talk to 127.0.0.1:${port} directly: ECONNREFUSED.` });
    assert.equal(report.steps[4]!.note, 'not run: step 4 (connect) failed');
    // Through a proxy, the dead port is the proxy's: it is named, without its credentials.
    const r = await cli([named, '--proxy', `http://alice:s3cret-pw@127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`\\[FAILED\\]  4\\. TCP connection to the proxy, and its CONNECT answer\\n +route +through proxy http://127\\.0\\.0\\.1:${port}\\n +error +SERVER_UNREACHABLE: Cannot talk to ${hostPort.replace('.', '\\.')} through proxy http://127\\.0\\.0\\.1:${port}: the proxy cannot be reached \\(ECONNREFUSED\\)`));
    assert.doesNotMatch(r.stdout + r.stderr, /s3cret|alice/);
  });

  it('a proxy that answers 407: PROXY_AUTH_REQUIRED naming the proxy; the credentials are never printed', async () => {
    const p = await proxies.start({ auth: { user: 'bob', password: 'hunter2' } });
    const refused = await cli([named, '--trust-root', rootPem], { HTTPS_PROXY: `http://bob:wrong-hunter2@${new URL(p.url).host}` });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /credentials +sent with CONNECT \(not shown\)\n/);
    assert.match(refused.stdout, new RegExp(`error +PROXY_AUTH_REQUIRED: The proxy ${p.url.replaceAll('.', '\\.')} asked for credentials \\(HTTP 407\\) and refused the ones given`));
    assert.doesNotMatch(refused.stdout + refused.stderr, /hunter2|bob/);
    const ok = await cli([named, '--trust-root', rootPem], { HTTPS_PROXY: `http://bob:hunter2@${new URL(p.url).host}` });
    assert.equal(ok.code, 0, ok.stdout);
  });

  it('usage errors exit 2; a URL that is not a server origin is a failed first step', async () => {
    for (const args of [[], [serve.url, serve.url], [serve.url, '--proxy', 'http://127.0.0.1:1', '--no-proxy'], [serve.url, '--timeout', 'soon'], [serve.url, '--proxy', 'socks5://127.0.0.1:1']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}${r.stdout}`);
      assert.match(r.stderr, /usage: blindbox diagnose <url>/);
    }
    const { code, report } = await json(['http://127.0.0.1:1/x']);
    assert.equal(code, 1);
    assert.equal(statuses(report), 'url:failed route:skipped resolve:skipped connect:skipped tls:skipped attestation:skipped binding:skipped');
    assert.equal(report.steps[0]!.error!.code, 'INVALID_URL');
  });

  it('every step is bounded: a server that never answers the TLS handshake fails the TLS step with TIMEOUT within --timeout', async () => {
    const stalling = await startStallingServer('handshake', await createTlsIdentity(), () => Promise.reject(new Error('never asked')));
    try {
      const began = Date.now();
      const { code, report } = await json([stalling.url, '--timeout', '1']);
      assert.equal(code, 1);
      assert.equal(statuses(report), 'url:ok route:ok resolve:ok connect:ok tls:failed attestation:skipped binding:skipped');
      assert.deepEqual(report.steps[4]!.error, { code: 'TIMEOUT', message: `The TLS handshake with 127.0.0.1:${new URL(stalling.url).port} did not complete within 1 s.` });
      // The process ended well within the sum of its budgets: a stalled step does not hold it.
      assert.ok(Date.now() - began < 30_000);
      assert.equal(stalling.seen.paths.length, 0);
    } finally {
      await stalling.close();
    }
  });

  it('foreign text cannot forge report lines: a certificate subject, a module id and a policy name holding escapes are quoted, escaped', async () => {
    const scratch = await scratchDir();
    const enclave = await startHostileEnclave(WORDS);
    const forged = await startTlsServer((_req, res) => res.writeHead(404).end(), await hostileIdentity());
    try {
      await writeFile(path.join(scratch.dir, 'root.pem'), enclave.rootPem);
      await writeFile(path.join(scratch.dir, 'policy.json'), JSON.stringify({ name: WORDS, pcrs: {}, roots: ['root.pem'] }));
      const attested = await cli([enclave.url, '--policy', path.join(scratch.dir, 'policy.json')]);
      assert.equal(attested.code, 0, attested.stdout + attested.stderr);
      assertEscapedOutput('diagnose stdout', attested.stdout);
      assert.match(attested.stdout, /\n +module +"i-ATTACKER\\x1b\[2K\\r\\x1b\]0;pwned\\x07VERIFIED  forged\\n/);
      const presented = await cli([forged.url]);
      assert.equal(presented.code, 1, presented.stdout + presented.stderr);
      assertEscapedOutput('diagnose stdout', presented.stdout);
      // Node's X509Certificate already writes a subject's controls as \\HH: they stay that way, inside quotes.
      assert.match(presented.stdout, /\n +subject +"O=ATTACKER\\1B\[2K\\0D\\1B\]0\\;pwned\\07VERIFIED  forged\\0A\\u009b2J/);
      assert.match(presented.stdout, /\[FAILED\]  6\. Attestation under your trust settings\n +error +SERVER_ERROR: The server refused the attestation request \(HTTP 404\)\.\n/);
    } finally {
      await Promise.all([enclave.close(), forged.close()]);
      await scratch.dispose();
    }
  });
});

/** A TLS identity whose self-signed certificate's subject holds `WORDS`. */
async function hostileIdentity(): Promise<TlsIdentity> {
  const keys = await generateSigningKeys('P-384', true);
  const now = Date.now();
  const cert = await issueCertificate(
    { subject: [['O', WORDS], ['CN', 'x']], notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), basicConstraints: { critical: true, ca: false }, keyUsage: { critical: true, usages: ['digitalSignature'] } },
    undefined,
    keys,
  );
  const x509 = new X509Certificate(cert.der);
  const privateKey = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' });
  return { certificate: cert.der, spki: new Uint8Array(x509.publicKey.export({ type: 'spki', format: 'der' })), privateKey, certificatePem: x509.toString() };
}
