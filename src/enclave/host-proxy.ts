/**
 * The host-side proxy: a plain layer-4 forwarder, the seed's "port 443 →
 * vsock" hop. It copies bytes between the client and the enclave app and
 * cannot read them: TLS terminates inside the enclave. In simulation the
 * enclave end is a Unix socket (or loopback TCP) instead of vsock.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ListenTarget } from './app.js';

export interface HostProxy {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export async function startHostProxy(listen: { host: string; port: number }, enclave: ListenTarget): Promise<HostProxy> {
  const sockets = new Set<Socket>();
  // noDelay: a forwarder must not hold back partial segments (Nagle + delayed ACK adds ~40 ms per response).
  const server = createServer({ noDelay: true }, (client) => {
    const upstream = 'path' in enclave ? connect(enclave.path) : connect({ port: enclave.port, host: enclave.host, noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    // Either side failing or closing ends both: no half-open pairs linger.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Connections still open finish by themselves; the caller closes the enclave app, which ends them.
        if (sockets.size === 0) return;
        const waitAll = setTimeout(() => sockets.forEach((s) => s.destroy()), 10_000);
        waitAll.unref();
      }),
  };
}
