/**
 * HAProxy (Debian's `haproxy`, installed by scripts/setup-system.sh) as a TCP (L4) balancer on loopback, as an AWS
 * NLB with TLS passthrough would be: `mode tcp`, `balance roundrobin`, no TLS of its own.
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
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-haproxy-'));
  const config = path.join(dir, 'haproxy.cfg');
  const servers = backends.map((url, i) => `  server b${i} ${new URL(url).host}`).join('\n');
  await writeFile(
    config,
    `global
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
  return { url: `https://127.0.0.1:${port}`, stop };
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
