/**
 * The host-side proxy: a plain layer-4 forwarder, the seed's "port 443 →
 * vsock" hop. It copies bytes between the client and the enclave app and
 * cannot read them: TLS terminates inside the enclave. It tells the app each
 * client's address (a PROXY protocol line, see proxy-protocol.ts). In simulation the
 * enclave end is a Unix socket (or loopback TCP) instead of vsock.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { ListenTarget } from './app.js';
import { proxyLine } from './proxy-protocol.js';

export interface HostProxy {
  readonly server: Server;
  readonly port: number;
  /** Stops accepting; open connections go on until the enclave app ends them or `close` cuts them. */
  stopAccepting(): void;
  /** Stops accepting and cuts every open connection. */
  close(): Promise<void>;
}

export interface HostProxyLimits {
  /** Client connections open at once; more are dropped as they arrive. */
  readonly maxConnections: number;
  /**
   * Client connections one source address may hold open at once: one host cannot take every connection the enclave
   * accepts. The enclave sees only the proxy, so this cap can live nowhere else.
   */
  readonly maxConnectionsPerSource: number;
}

/** One source may hold an eighth of what the enclave app accepts (256): it takes eight hosts to fill it. */
export const DEFAULT_HOST_PROXY_LIMITS: HostProxyLimits = { maxConnections: 512, maxConnectionsPerSource: 32 };

export async function startHostProxy(listen: { host: string; port: number }, enclave: ListenTarget, limits: Partial<HostProxyLimits> = {}): Promise<HostProxy> {
  const lim = { ...DEFAULT_HOST_PROXY_LIMITS, ...limits };
  const sockets = new Set<Socket>();
  const perSource = new Map<string, number>();
  // noDelay: a forwarder must not hold back partial segments (Nagle + delayed ACK adds ~40 ms per response).
  const server = createServer({ noDelay: true }, (client) => {
    const source = client.remoteAddress ?? '';
    const held = perSource.get(source) ?? 0;
    if (held >= lim.maxConnectionsPerSource) {
      client.destroy();
      return;
    }
    perSource.set(source, held + 1);
    client.once('close', () => {
      const left = (perSource.get(source) ?? 1) - 1;
      if (left > 0) perSource.set(source, left);
      else perSource.delete(source);
    });
    const upstream = 'path' in enclave ? connect(enclave.path) : connect({ port: enclave.port, host: enclave.host, noDelay: true });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    // Either side failing or closing ends both: no half-open pairs linger. (A client's socket closes once it has sent
    // FIN and its own end is flushed; the enclave's end would otherwise wait for the app to close it.)
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    // The client's address first: the app keys its per-source limits by it (it sees only this proxy).
    upstream.write(proxyLine(client));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.maxConnections = lim.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  let closed: Promise<void> | undefined;
  const stopAccepting = () => {
    closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    server,
    port: (server.address() as AddressInfo).port,
    stopAccepting,
    close: async () => {
      stopAccepting();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
