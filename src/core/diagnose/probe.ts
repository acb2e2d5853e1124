/**
 * The raw network probes of a diagnosis, each cancelled by its signal: resolving a name, opening a TCP connection,
 * and a TLS handshake that only looks at the certificate presented (no CA check, nothing written after it).
 */
import type { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Every address `hostname` resolves to on this machine (the system resolver, as a direct connection uses it). */
export async function resolveName(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);
}

/** A TCP connection to `host:port`; destroyed if `signal` aborts first. */
export function openTcp(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port });
    const abort = () => {
      socket.destroy();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', abort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', abort);
      resolve(socket);
    });
    socket.once('error', (err) => {
      signal.removeEventListener('abort', abort);
      reject(err);
    });
  });
}

/** What a TLS handshake showed. */
export interface Handshake {
  readonly certificate: X509Certificate;
  /** e.g. `TLSv1.3`. */
  readonly protocol: string;
}

/**
 * A TLS handshake over `socket` (a TCP connection or a CONNECT tunnel) that records the certificate presented and
 * closes the connection: the certificate is only looked at, so CA validation is off and no byte follows the handshake.
 */
export function presentedCertificate(socket: Socket, servername: string | undefined, signal: AbortSignal): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername, rejectUnauthorized: false });
    const done = () => {
      signal.removeEventListener('abort', abort);
      tls.destroy();
      socket.destroy();
    };
    const abort = () => {
      done();
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', abort, { once: true });
    tls.once('secureConnect', () => {
      const certificate = tls.getPeerX509Certificate();
      const protocol = tls.getProtocol() ?? 'TLS';
      done();
      if (certificate) resolve({ certificate, protocol });
      else reject(new Error('no certificate presented'));
    });
    tls.once('error', (err) => {
      done();
      reject(err);
    });
  });
}
