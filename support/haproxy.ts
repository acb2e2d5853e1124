/**
 * HAProxy (Debian's `haproxy`, installed by scripts/setup-system.sh) on loopback: as a TCP (L4) balancer, as an AWS
 * NLB with TLS passthrough would be (`mode tcp`, `balance roundrobin`, no TLS of its own), or as an L7 one that
 * terminates TLS (`startHttpHaproxy`).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface Balancer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts HAProxy balancing round robin over `backends` (`https://127.0.0.1:<port>` URLs), in the order given. */
export async function startHaproxy(backends: readonly string[]): Promise<Balancer> {
  const port = await freePort();
  const servers = backends.map((url, i) => `  server b${i} ${new URL(url).host}`).join('\n');
  return runHaproxy(
    port,
    `https://127.0.0.1:${port}`,
    () => `global
  maxconn 512
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend fleet
  bind 127.0.0.1:${port}
  default_backend replicas
backend replicas
  balance roundrobin
${servers}
`,
  );
}

/**
 * HAProxy as an L7 balancer (an AWS ALB, a CDN edge): `mode http`, terminating the clients' TLS with its own
 * certificate (`tls`: the PEM of the certificate for `name` and its key) and opening its own TLS to each replica
 * (`verify none`: it cannot check an enclave's self-signed key). Requests go round robin, except that a request
 * carrying `blindbox-hpke-key` sticks to the replica whose attestation answer carried that key (a stick table filled
 * from the answers): a body sealed to one enclave reaches that enclave. Clients connect to `https://<name>:<port>`.
 * `backendTls: false` speaks plain HTTP to the backends (a test's recording relays, which open the TLS themselves).
 */
export async function startHttpHaproxy(backends: readonly string[], tls: { readonly name: string; readonly pem: string }, options: { readonly backendTls?: boolean } = {}): Promise<Balancer> {
  const port = await freePort();
  const servers = backends.map((url, i) => `  server b${i} ${new URL(url).host}${options.backendTls === false ? '' : ' ssl verify none'}`).join('\n');
  return runHaproxy(
    port,
    `https://${tls.name}:${port}`,
    (dir) => `global
  maxconn 512
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend fleet
  bind 127.0.0.1:${port} ssl crt ${path.join(dir, 'frontend.pem')}
  default_backend replicas
backend replicas
  balance roundrobin
  stick-table type string len 64 size 10k expire 30m
  stick store-response res.hdr(blindbox-hpke-key)
  stick match req.hdr(blindbox-hpke-key)
${servers}
`,
    { 'frontend.pem': tls.pem },
  );
}

/** Writes the configuration (and `files`) into a private folder, starts HAProxy on it and waits for `port`. */
async function runHaproxy(port: number, url: string, configure: (dir: string) => string, files: Readonly<Record<string, string>> = {}): Promise<Balancer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text, { mode: 0o600 });
  await writeFile(config, configure(dir));
  // -db: stay in the foreground, so that killing the child stops it.
  const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, () => child.exitCode !== null, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until something accepts on `port` (at most 10 s). */
async function waitForPort(port: number, exited: () => boolean, stderr: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (exited()) throw new Error(`haproxy exited: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`haproxy did not listen on ${port}: ${stderr()}`);
}
