/**
 * A real HTTP CONNECT proxy on loopback, built the way Node documents it (node:http's 'connect' event, net.connect to
 * the target). It resolves names through its own `hosts` table (so a test can use a name, e.g. `enclave.test`, that
 * only the proxy can reach), counts the bytes it relays, can require Basic credentials (407 otherwise), and can be told
 * to inspect TLS: it then terminates the client's TLS itself with a certificate its own CA ("Example Corp TLS
 * Inspection CA") issued for the requested name, opens its own TLS to the target, and records every decrypted byte;
 * it may then also alter the server's answers (`rewriteAnswer`).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect as netConnect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { generateSigningKeys, issueCertificate, type IssuedCertificate } from '../src/server/attestation/certificates.js';

export interface ConnectProxyOptions {
  /** Name → address the proxy connects to for it (names not listed are not reachable: 502). */
  readonly hosts: Readonly<Record<string, string>>;
  /** Require `Proxy-Authorization: Basic` with these credentials. */
  readonly auth?: { readonly user: string; readonly password: string };
  /** Terminate the client's TLS with the proxy's own CA and read the requests (a TLS-inspecting proxy). */
  readonly inspect?: boolean;
  /** Keep the bytes clients sent through plain tunnels (what a proxy that only relays can see), for `relayed`. */
  readonly record?: boolean;
  /**
   * With `inspect`: every answer of the server (head and `Content-Length` body, as bytes), numbered from 0 across all
   * connections, goes to the client as this returns it: a middlebox that alters, cuts or swaps answers.
   */
  readonly rewriteAnswer?: (answer: Buffer, index: number) => Buffer;
}

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The CONNECT targets asked for, in order, with the status answered. */
  readonly tunnels: { target: string; status: number }[];
  /** Bytes relayed from clients towards targets after the tunnels opened (TLS records, or with `inspect` the decrypted bytes). */
  readonly fromClients: () => number;
  /** With `inspect`: everything the clients sent, decrypted. */
  readonly decrypted: () => Buffer;
  /** With `record`: everything the clients sent through plain tunnels, as the proxy saw it. */
  readonly relayed: () => Buffer;
  /** With `inspect`: the CA certificate the proxy signs with. */
  readonly caCertificate: X509Certificate | undefined;
  close(): Promise<void>;
}

const DAY = 86_400_000;

/** The name tests give the server: only these proxies resolve it (to 127.0.0.1), so the direct route always fails. */
export const ENCLAVE_NAME = 'enclave.test';

/** Proxies that map `ENCLAVE_NAME` to 127.0.0.1, each started by `start`; `closeAll` (an `after` hook) closes them. */
export function enclaveProxies(): { start(options?: Omit<ConnectProxyOptions, 'hosts'>): Promise<ConnectProxy>; closeAll(): Promise<void> } {
  const started: ConnectProxy[] = [];
  return {
    async start(options = {}) {
      const proxy = await startConnectProxy({ hosts: { [ENCLAVE_NAME]: '127.0.0.1' }, ...options });
      started.push(proxy);
      return proxy;
    },
    async closeAll() {
      await Promise.all(started.splice(0).map((p) => p.close()));
    },
  };
}

export async function startConnectProxy(options: ConnectProxyOptions): Promise<ConnectProxy> {
  const tunnels: { target: string; status: number }[] = [];
  const decrypted: Buffer[] = [];
  const relayed: Buffer[] = [];
  let fromClients = 0;
  let answers = 0;
  const sockets = new Set<Socket | Duplex>();
  const inspector = options.inspect ? await inspectionCa(Object.keys(options.hosts)) : undefined;
  const expected = options.auth ? `Basic ${Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')}` : undefined;

  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('error', () => undefined).on('close', () => sockets.delete(client));
    const target = req.url ?? '';
    const answer = (status: number, text: string, extra = '') => {
      tunnels.push({ target, status });
      client.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    if (expected !== undefined && req.headers['proxy-authorization'] !== expected) return answer(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test"\r\n');
    const m = /^([^:]+):(\d+)$/.exec(target);
    const address = m ? options.hosts[m[1]!.toLowerCase()] : undefined;
    if (!m || address === undefined) return answer(502, 'Bad Gateway');
    const upstream = netConnect({ host: address, port: Number(m[2]) });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy()).on('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      tunnels.push({ target, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) client.unshift(head);
      if (!inspector) {
        client.on('data', (d: Buffer) => {
          fromClients += d.length;
          if (options.record) relayed.push(Buffer.from(d));
        });
        client.pipe(upstream).pipe(client);
        return;
      }
      // Inspection: the client's TLS ends here, under a certificate the proxy's CA issued for the name asked for.
      const leaf = inspector.leafFor(m[1]!);
      const inner = new TLSSocket(client, { isServer: true, key: leaf.key, cert: leaf.pem });
      const onward = tlsConnect({ socket: upstream, servername: m[1], rejectUnauthorized: false });
      for (const s of [inner, onward]) {
        sockets.add(s);
        s.on('error', () => {
          inner.destroy();
          onward.destroy();
        });
      }
      inner.on('data', (d: Buffer) => {
        fromClients += d.length;
        decrypted.push(Buffer.from(d));
      });
      inner.pipe(onward);
      if (options.rewriteAnswer) rewriting(onward, inner, options.rewriteAnswer, () => answers++);
      else onward.pipe(inner);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    fromClients: () => fromClients,
    decrypted: () => Buffer.concat(decrypted),
    relayed: () => Buffer.concat(relayed),
    caCertificate: inspector?.ca,
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * Relays `from` to `to` one whole HTTP answer (head, then `Content-Length` bytes) at a time, each through `rewrite`
 * with its number (`next`).
 */
function rewriting(from: TLSSocket, to: TLSSocket, rewrite: (answer: Buffer, index: number) => Buffer, next: () => number): void {
  let pending = Buffer.alloc(0);
  from.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    for (;;) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(pending.subarray(0, end).toString('latin1'))?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      to.write(rewrite(pending.subarray(0, end + 4 + length), next()));
      pending = pending.subarray(end + 4 + length);
    }
  });
  from.on('end', () => to.end());
}

/** A CA as a company's inspection proxy has one, and the leaf certificates it forges for `names` (made ahead). */
export async function inspectionCa(names: readonly string[]): Promise<{ ca: X509Certificate; leafFor(name: string): { key: string; pem: string } }> {
  const now = Date.now();
  const root: IssuedCertificate = await issueCertificate({
    subject: [['O', 'Example Corp'], ['CN', 'Example Corp TLS Inspection CA']],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + DAY),
    basicConstraints: { critical: true, ca: true },
    keyUsage: { critical: true, usages: ['keyCertSign', 'cRLSign'] },
  });
  const keys = await generateSigningKeys('P-384', true);
  const key = createPrivateKey({ key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), format: 'der', type: 'pkcs8' });
  const leaves = new Map<string, string>();
  // Only names in the proxy's hosts table are ever tunnelled, so each has its leaf.
  const keyPem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
  const leafFor = (name: string) => ({ key: keyPem, pem: leaves.get(name.toLowerCase())! });
  for (const name of names) {
    const leaf = await issueCertificate(
      {
        subject: [['CN', name]],
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + DAY),
        basicConstraints: { critical: true, ca: false },
        keyUsage: { critical: true, usages: ['digitalSignature'] },
      },
      root,
      keys,
    );
    leaves.set(name, new X509Certificate(leaf.der).toString());
  }
  return { ca: new X509Certificate(root.der), leafFor };
}
