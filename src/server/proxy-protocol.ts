/**
 * The client's address, from the host proxy to the enclave app: the proxy's upstream connection starts with a PROXY
 * protocol v1 line (HAProxy's "PROXY TCP4 <src> <dst> <sport> <dport>\r\n"), the app reads it before TLS starts. The
 * app sees only the proxy, so without it nothing per client (a rate limit) could be keyed inside the enclave. Only the
 * proxy can reach the app's socket; a connection without the line (a test connecting straight to the app) has no
 * known source.
 */
import { isIPv4, isIPv6, type Socket } from 'node:net';
import { INETProtocol, Peer, V1ProxyProtocol } from 'proxy-protocol-js';

/** The spec's longest v1 line, CRLF included. */
const MAX_LINE_BYTES = 107;

/** The line the proxy writes first on the upstream connection of `client`. */
export function proxyLine(client: Socket): string {
  const { remoteAddress, remotePort, localAddress, localPort } = client;
  if (!remoteAddress || !localAddress || remotePort === undefined || localPort === undefined) return 'PROXY UNKNOWN\r\n';
  const family = isIPv6(remoteAddress) ? INETProtocol.TCP6 : INETProtocol.TCP4;
  return new V1ProxyProtocol(family, new Peer(remoteAddress, remotePort), new Peer(localAddress, localPort)).build();
}

/**
 * Reads the PROXY line at the start of `socket`, puts back what follows it, and resolves with the source address:
 * undefined when the connection does not start with one, or it is `UNKNOWN`. A connection that starts a line and does
 * not finish it within `timeoutMs`, or makes it too long or malformed, is destroyed (resolves undefined too).
 */
export function readProxyLine(socket: Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (source: string | undefined, rest: Buffer) => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      resolve(source);
    };
    const fail = () => {
      finish(undefined, Buffer.alloc(0));
      socket.destroy();
    };
    const onClose = () => finish(undefined, Buffer.alloc(0));
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const prefix = 'PROXY '.slice(0, buffered.length);
      if (buffered.subarray(0, prefix.length).toString('latin1') !== prefix) return finish(undefined, buffered);
      const end = buffered.indexOf('\r\n');
      if (end < 0) return buffered.length >= MAX_LINE_BYTES ? fail() : undefined;
      const source = parseLine(buffered.subarray(0, end).toString('latin1'));
      if (source === null) return fail();
      finish(source, buffered.subarray(end + 2));
    };
    const timer = setTimeout(fail, timeoutMs);
    socket.on('data', onData).once('close', onClose);
  });
}

/**
 * The source address of a v1 line (without its CRLF); undefined for UNKNOWN (which the spec lets stand alone), null
 * when it is not a valid line or its source is not an address of its family.
 */
function parseLine(line: string): string | undefined | null {
  if (line === 'PROXY UNKNOWN' || line.startsWith('PROXY UNKNOWN ')) return undefined;
  let parsed: V1ProxyProtocol;
  try {
    parsed = V1ProxyProtocol.parse(`${line}\r\n`);
  } catch {
    return null;
  }
  const source = parsed.source.ipAddress;
  const valid = parsed.inetProtocol === INETProtocol.TCP4 ? isIPv4(source) : parsed.inetProtocol === INETProtocol.TCP6 ? isIPv6(source) : false;
  return valid ? source : null;
}
