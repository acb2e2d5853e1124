/**
 * A hostile client's tools: raw TLS sockets to a server (no HTTP library to tidy up what is sent), the attack request
 * shapes, and a reader for whatever comes back. Loopback only.
 */
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';

/** Opens a TLS connection to `url` (an https://127.x.y.z:port origin), optionally from a chosen loopback address. */
export async function openTls(url: string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<TLSSocket> {
  const tcp = await openTcp(url, options.localAddress);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: tcp, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('TLS handshake timed out'));
    }, options.timeoutMs ?? 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Opens a plain TCP connection to `url`'s port: a client that never starts TLS. */
export function openTcp(url: string, localAddress?: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: hostname, port: Number(port), localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Collects what the server sends until it closes the connection (or `timeoutMs`); parses the first response. */
export function readAnswer(socket: Socket, timeoutMs = 15_000): Promise<RawAnswer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      const parsed = parseAnswer(Buffer.concat(chunks).toString('latin1'));
      // A complete response (by content-length) is enough: the server may keep the connection.
      if (parsed && Buffer.byteLength(parsed.body, 'latin1') >= Number(parsed.headers['content-length'] ?? Infinity)) done();
    });
    const timer = setTimeout(() => done(), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1')));
    };
    socket.once('close', done);
    socket.once('error', done);
  });
}

function parseAnswer(text: string): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(m[1]), headers, body: text.slice(end + 4) };
}

/** Collects what the server sends until it closes the connection (or `timeoutMs`); parses every response, in order. */
export async function readAnswers(socket: Socket, timeoutMs = 15_000): Promise<RawAnswer[]> {
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('close', () => resolve(clearTimeout(timer)));
    socket.once('error', () => socket.destroy());
  });
  const answers: RawAnswer[] = [];
  let rest = Buffer.concat(chunks).toString('latin1');
  for (let answer = parseAnswer(rest); answer; answer = parseAnswer(rest)) {
    const length = Number(answer.headers['content-length'] ?? answer.body.length);
    answers.push({ ...answer, body: answer.body.slice(0, length) });
    rest = answer.body.slice(length);
  }
  return answers;
}

/** Resolves when `socket` can take more writes, or has closed (listeners removed either way). */
export function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}

/** Sends `bytes` on a new TLS connection and reads the answer. */
export async function exchange(url: string, bytes: string | Buffer, timeoutMs?: number): Promise<RawAnswer | undefined> {
  const socket = await openTls(url);
  socket.write(bytes);
  return readAnswer(socket, timeoutMs);
}

/** The JSON error code of an answer, or undefined when its body is not the protocol's error JSON. */
export function errorCode(answer: RawAnswer | undefined): string | undefined {
  try {
    return (JSON.parse(answer?.body ?? '') as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

export const BOUNDARY = 'hostileBoundary';

/** The head of a multipart upload to `path`, chunked or with a declared length. */
export function uploadHead(path: string, framing: { chunked: true } | { contentLength: number }): string {
  const length = 'chunked' in framing ? 'transfer-encoding: chunked' : `content-length: ${framing.contentLength}`;
  return `POST ${path} HTTP/1.1\r\nhost: enclave\r\ncontent-type: multipart/form-data; boundary=${BOUNDARY}\r\n${length}\r\n\r\n`;
}

/** The start of the multipart body: the file part's headers. */
export function filePartHead(field = 'file', filename = 'a.wav'): string {
  return `--${BOUNDARY}\r\ncontent-disposition: form-data; name="${field}"; filename="${filename}"\r\ncontent-type: audio/wav\r\n\r\n`;
}

/** A whole multipart body holding `file`. */
export function multipartBody(file: Buffer, field = 'file', filename = 'a.wav'): Buffer {
  return Buffer.concat([Buffer.from(filePartHead(field, filename)), file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]);
}
