/**
 * Per-connection policing of the enclave's HTTPS server, for what Node's own timeouts do not cover once a request's
 * headers are in:
 *  - a client that stops reading while the server writes (each answer it asks for would sit in memory): a connection
 *    whose pending output makes no progress for `stalledWriteMs` is closed;
 *  - a client that pipelines request after request (Node emits them all at once, and its back-pressure engages only
 *    on unsent output): the requests of one connection run one at a time, in order, and one more than `maxPipelined`
 *    waiting or running is refused in its turn with the connection closed, the answers before it still sent.
 * It also owns the process-wide connection cap. A connection that holds no request (still handshaking, waiting for its
 * first request, or idle between requests) costs an attacker nothing to keep, so it must not cost a legitimate client
 * its place: when a new connection would pass the cap, the connection idle the longest is closed to admit it (a
 * connection with a request running, an upload or a transcription, never is); only when every connection has work is
 * the new one dropped. A TLS connection that sends no byte of a request within `firstRequestTimeoutMs` is closed too.
 * It knows every TCP connection, handshaking or not, so that shutdown can end them all.
 */
import type { Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionGuardLimits {
  /** Connections open at once; one more closes the longest-idle connection, or is dropped when none is idle. */
  readonly maxConnections: number;
  /** A TLS connection must send the first byte of its first request this soon after its handshake. */
  readonly firstRequestTimeoutMs: number;
  /** Requests one connection may have waiting or running (HTTP/1.1 pipelining); one more is refused, closing it. */
  readonly maxPipelined: number;
  /** A connection whose unsent output makes no progress for this long is closed. */
  readonly stalledWriteMs: number;
}

/** How often pending output is checked for progress. */
const SWEEP_MS = 1_000;

interface Progress {
  /** Bytes handed on below TLS (written minus still buffered). */
  flushed: number;
  since: number;
}

/** A connection with no request running, and since when. */
interface Idle {
  since: number;
  /** Its TLS socket once the handshake is done (requests run on it). */
  tls?: Socket;
}

export class ConnectionGuard {
  /** TCP connections, handshaking or not. */
  readonly #sockets = new Set<Socket>();
  /** TLS connections and when their pending output last moved (TLS writes bypass the TCP socket's own buffer). */
  readonly #output = new Map<Socket, Progress>();
  /** Requests waiting or running per TLS connection. */
  readonly #running = new Map<Socket, Set<IncomingMessage>>();
  /** Per TLS connection, when the last request admitted on it will have been released: the next one's turn. */
  readonly #last = new Map<Socket, Promise<void>>();
  readonly #releasers = new Map<IncomingMessage, () => void>();
  /** Connections whose excess request was refused: what they pipelined after it is not answered. */
  readonly #refused = new WeakSet<Socket>();
  /** Connections (by TCP socket) with no request running, longest idle first (a Map keeps insertion order). */
  readonly #idle = new Map<Socket, Idle>();
  /** Each TLS socket's TCP socket. */
  readonly #tcpOf = new WeakMap<Socket, Socket>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #limits: ConnectionGuardLimits;

  constructor(
    server: Server,
    limits: ConnectionGuardLimits,
  ) {
    this.#limits = limits;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      this.#idle.set(socket, { since: Date.now() });
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.#idle.delete(socket);
      });
      if (this.#sockets.size > limits.maxConnections) this.#makeRoom(socket);
    });
    server.on('secureConnection', (socket: Socket) => {
      this.#output.set(socket, { flushed: 0, since: Date.now() });
      const tcp = tcpSocketOf(socket);
      this.#tcpOf.set(socket, tcp);
      const idle = this.#idle.get(tcp);
      if (idle) {
        idle.tls = socket;
        idle.since = Date.now();
      }
      socket.once('close', () => this.#output.delete(socket));
    });
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /**
   * Counts a request in, with the moment it may run: once every earlier request on its connection is released.
   * `refuse` when its connection already has as many as allowed (answer it, closing the connection: Node sends the
   * answer after those before it); `ignore` for what came after such a refusal (the close was announced).
   */
  admit(req: IncomingMessage): { readonly turn: Promise<void> } | 'refuse' | 'ignore' {
    const socket = req.socket;
    if (this.#refused.has(socket)) return 'ignore';
    const running = this.#running.get(socket) ?? new Set<IncomingMessage>();
    if (running.size >= this.#limits.maxPipelined) {
      this.#refused.add(socket);
      return 'refuse';
    }
    running.add(req);
    this.#running.set(socket, running);
    const tcp = this.#tcpOf.get(socket);
    if (tcp) this.#idle.delete(tcp);
    const turn = this.#last.get(socket) ?? Promise.resolve();
    this.#last.set(socket, new Promise<void>((resolve) => this.#releasers.set(req, resolve)));
    return { turn };
  }

  /**
   * Counts a request out: the next one on its connection may run; a connection left with none is idle again, the
   * most recently idle of all.
   */
  release(req: IncomingMessage): void {
    this.#releasers.get(req)?.();
    this.#releasers.delete(req);
    const running = this.#running.get(req.socket);
    running?.delete(req);
    if (running?.size !== 0) return;
    this.#running.delete(req.socket);
    this.#last.delete(req.socket);
    const tcp = this.#tcpOf.get(req.socket);
    if (tcp && this.#sockets.has(tcp)) this.#idle.set(tcp, { since: Date.now(), tls: req.socket });
  }

  /**
   * Whether a request on this TLS connection whose body has fully arrived is still owed its answer: a parser error
   * now belongs to a later, pipelined request, and answering it would take the earlier one's place. (An error inside
   * the body of the running request is that request's own, and is answered.)
   */
  owesAnswer(socket: Socket): boolean {
    return [...(this.#running.get(socket) ?? [])].some((req) => req.complete);
  }

  /**
   * Ends every TLS connection after what was written to it (a shutdown's last answers: destroying a socket at once
   * discards what TLS still holds), cuts those still handshaking, and destroys whatever is open after `flushMs`.
   */
  async endAll(flushMs: number): Promise<void> {
    const closed = [...this.#sockets].map((tcp) => new Promise<void>((resolve) => (tcp.destroyed ? resolve() : tcp.once('close', () => resolve()))));
    const secured = new Set<Socket>();
    for (const tls of this.#output.keys()) {
      const tcp = this.#tcpOf.get(tls);
      if (tcp) secured.add(tcp);
      tls.end();
    }
    for (const tcp of this.#sockets) if (!secured.has(tcp)) tcp.destroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, flushMs)))]);
    clearTimeout(timer);
    this.destroyAll();
  }

  /** Ends every connection and stops watching. */
  destroyAll(): void {
    clearInterval(this.#sweeper);
    for (const socket of this.#sockets) socket.destroy();
  }

  /** Closes the longest-idle connection to make room for `arrived`; drops `arrived` itself when it is the only idle one. */
  #makeRoom(arrived: Socket): void {
    const [oldest] = this.#idle.keys();
    const victim = oldest ?? arrived;
    // Uncounted now, not at its 'close': the next arrival in the same burst must pick another victim.
    this.#idle.delete(victim);
    this.#sockets.delete(victim);
    victim.destroy();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [tcp, idle] of this.#idle) {
      // A TLS socket's bytesRead counts decrypted bytes: none means not one byte of a request yet.
      if (idle.tls?.bytesRead === 0 && now - idle.since >= this.#limits.firstRequestTimeoutMs) tcp.destroy();
    }
    for (const [socket, progress] of this.#output) {
      // `bytesWritten` counts what is still buffered too: what left is the difference.
      const flushed = socket.bytesWritten - socket.writableLength;
      if (socket.writableLength === 0 || flushed !== progress.flushed) {
        progress.flushed = flushed;
        progress.since = now;
      } else if (now - progress.since >= this.#limits.stalledWriteMs) {
        socket.destroy();
      }
    }
  }
}

/**
 * The TCP socket a TLS server socket runs over. Node sets `_parent` on every TLSSocket made over a net.Socket (and
 * the server's are); the public API has no other way from the TLS socket back to the connection the cap counts.
 */
export function tcpSocketOf(tls: Socket): Socket {
  return (tls as Socket & { _parent?: Socket })._parent ?? tls;
}
