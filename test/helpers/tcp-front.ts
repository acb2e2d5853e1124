/** A switching TCP front for transport tests: what a balancer does to a client's connections, under the test's control. */
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP front that sends connection n (from 0) to `route(n)`, and counts the connections each target got. */
export interface Front {
  readonly url: string;
  readonly connections: Map<string, number>;
  open(): number;
  close(): Promise<void>;
}

export async function startFront(route: (n: number) => string): Promise<Front> {
  const connections = new Map<string, number>();
  const sockets = new Set<Socket>();
  let n = 0;
  const server: Server = createServer((client) => {
    const target = route(n++);
    connections.set(target, (connections.get(target) ?? 0) + 1);
    const url = new URL(target);
    const upstream = tcpConnect({ host: url.hostname, port: Number(url.port) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    open: () => sockets.size / 2,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

