/**
 * Where the local endpoint listens: `HOST:PORT` read without any name lookup, and refused when it is not loopback
 * unless the caller explicitly allows it (its bearer token would then cross a network in clear text).
 */
import { BlockList, isIP } from 'node:net';
import { InputError } from '../errors.js';

/** A listen address as `server.listen` takes it. */
export interface ListenAddress {
  /** An IP literal (`localhost` becomes 127.0.0.1: no lookup decides where the token is accepted). */
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly loopback: boolean;
}

/** The default: IPv4 loopback, any free port. */
export const DEFAULT_LISTEN = '127.0.0.1:0';

/**
 * Reads `HOST:PORT` (`[::1]:PORT` for IPv6). Throws `InputError` `INVALID_OPTION` for a malformed address, a name
 * other than `localhost`, or a non-loopback address without `allowRemote`.
 */
export function parseListenAddress(text: string, { allowRemote = false }: { allowRemote?: boolean } = {}): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) throw new InputError('INVALID_OPTION', `the listen address ${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)`);
  const port = Number(m[3]);
  if (port > 65535) throw new InputError('INVALID_OPTION', `the listen address ${JSON.stringify(text)} has no valid port (0 to 65535)`);
  const named = m[2]?.toLowerCase() === 'localhost';
  const host = named ? '127.0.0.1' : (m[1] ?? m[2]!);
  const family = isIP(host);
  if (family === 0 || (family === 6) !== (m[1] !== undefined)) {
    throw new InputError('INVALID_OPTION', `the listen address ${JSON.stringify(text)} must be an IP address or localhost (IPv6 in brackets): no name lookup decides who may connect`);
  }
  const loopback = isLoopback(host);
  if (!loopback && !allowRemote) {
    throw new InputError('INVALID_OPTION', `the listen address ${JSON.stringify(text)} is not loopback: other machines could reach the endpoint and see its token in clear text. Listen on 127.0.0.1, or allow it explicitly`);
  }
  return { host, port, loopback };
}

/** 127.0.0.0/8 and ::1 (node:net's BlockList also matches IPv4 loopback mapped into IPv6). */
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `ip` (an IP literal) is a loopback address. */
export function isLoopback(ip: string): boolean {
  const family = isIP(ip);
  return family !== 0 && LOOPBACK.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** `http://HOST:PORT` of a listening address (IPv6 in brackets). */
export function httpOrigin(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}
