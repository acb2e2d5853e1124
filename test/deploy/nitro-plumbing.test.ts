/**
 * deploy/nitro's scripts, run for real with TCP stand-ins for VSOCK (this machine's vsock belongs to its
 * infrastructure: no AF_VSOCK socket is opened here) and the NSM stand-in for /dev/nsm:
 *   client → host-proxy.sh (socat TCP → "VSOCK") → enclave-entry.sh's socat ("VSOCK" → loopback) → blindbox serve.
 * The client's attestation check passing through the whole chain is the proof that TLS ends in `serve`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../support/cli.js';
import { NsmStandIn } from '../helpers/nsm-stand-in.js';
import { exchange, openTls } from '../../support/raw-client.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = path.join(ROOT, 'deploy', 'nitro');

let dir: string;
let nsm: NsmStandIn;
let root: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-deploy-'));
  nsm = await NsmStandIn.start(path.join(dir, 'nsm.sock'));
  root = path.join(dir, 'root.pem');
  await writeFile(root, nsm.rootPem);
});
after(async () => {
  await nsm.close();
  await rm(dir, { recursive: true, force: true });
});

/** A loopback port free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether something accepts connections on 127.0.0.1:port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Starts a script; resolves once its stderr matches `ready` (bounded), rejects if it exits first. */
async function startScript(script: string, env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn('bash', [path.join(DEPLOY, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not get ready: ${stderr}`)), 60_000);
    child.stderr!.on('data', () => ready.test(stderr) && (clearTimeout(timer), resolve()));
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`${script} exited with ${code}: ${stderr}`))));
  });
  return { child, stderr: () => stderr };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('deploy/nitro scripts', () => {
  it('pass shellcheck', async () => {
    const scripts = (await readdir(DEPLOY)).filter((f) => f.endsWith('.sh')).map((f) => path.join(DEPLOY, f));
    assert.ok(scripts.length >= 4, scripts.join(' '));
    const { stdout } = await promisify(execFile)('shellcheck', ['--severity=style', ...scripts]).catch((e: { stdout: string }) => assert.fail(e.stdout));
    assert.equal(stdout, '');
  });

  it('forward client → host proxy → enclave entry → serve: the client attests the NSM through it, PCR16 pinned; SIGTERM ends every process', async () => {
    const [appPort, vsockStandIn, publicPort] = [await freePort(), await freePort(), await freePort()];
    const entry = await startScript(
      'enclave-entry.sh',
      {
        ...nsm.env,
        BLINDBOX_APP: ROOT,
        BLINDBOX_ENGINE: 'pocketsphinx',
        BLINDBOX_WORKERS: '1',
        BLINDBOX_APP_PORT: String(appPort),
        BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK: `TCP-LISTEN:${vsockStandIn},bind=127.0.0.1,fork,reuseaddr`,
      },
      /\[entry\] forwarding TCP-LISTEN/,
    );
    let proxy: ChildProcess | undefined;
    try {
      assert.match(entry.stderr(), /\[entry\] listening https:\/\/127\.0\.0\.1:\d+/);
      const host = await startScript(
        'host-proxy.sh',
        { BLINDBOX_PUBLIC_PORT: String(publicPort), BLINDBOX_PUBLIC_BIND: '127.0.0.1', BLINDBOX_TEST_ONLY_CONNECT_INSTEAD_OF_VSOCK: `TCP:127.0.0.1:${vsockStandIn}` },
        /host-proxy: forwarding TCP :\d+ to TCP:127\.0\.0\.1/,
      );
      proxy = host.child;
      await until(() => accepting(publicPort), 'the host proxy');
      const url = `https://127.0.0.1:${publicPort}`;
      const r = await runCli(['verify', url, '--trust-root', root, '--pcr', `16=${nsm.hex(16)}`, '--pcr', `0=${nsm.hex(0)}`, '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr + entry.stderr());
      assert.equal(JSON.parse(r.stdout).moduleId, nsm.moduleId);
      assert.equal(JSON.parse((await exchange(url, 'GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n'))!.body).attestation, 'nsm');
      // 40 clients at once: more than serve's per-source cap of 32, which would count them all as socat's loopback.
      const held = await Promise.all(Array.from({ length: 40 }, () => openTls(url)));
      try {
        assert.equal((await exchange(url, 'GET /healthz HTTP/1.1\r\nhost: e\r\n\r\n'))?.status, 200);
        assert.ok(held.every((s) => !s.destroyed), 'every held connection is still open');
      } finally {
        for (const s of held) s.destroy();
      }
    } finally {
      proxy?.kill('SIGTERM');
      entry.child.kill('SIGTERM');
    }
    const [code] = (await once(entry.child, 'exit')) as [number | null];
    assert.equal(code, 0, entry.stderr());
    assert.equal(await accepting(vsockStandIn), false, 'the enclave side stopped listening');
    assert.equal(await accepting(appPort), false, 'serve stopped');
  });

  it('the entry script ends, and starts no forwarder, when serve cannot start (no NSM)', async () => {
    const vsockStandIn = await freePort();
    const child = spawn('bash', [path.join(DEPLOY, 'enclave-entry.sh')], {
      env: { ...process.env, BLINDBOX_APP: ROOT, BLINDBOX_ENGINE: 'pocketsphinx', BLINDBOX_APP_PORT: String(await freePort()), BLINDBOX_TEST_ONLY_LISTEN_INSTEAD_OF_VSOCK: `TCP-LISTEN:${vsockStandIn},bind=127.0.0.1,fork,reuseaddr` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /no Nitro Secure Module/);
    assert.match(stderr, /\[entry\] blindbox serve exited while starting/);
    assert.equal(await accepting(vsockStandIn), false);
  });
});
