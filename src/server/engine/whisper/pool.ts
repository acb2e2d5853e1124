/**
 * Fans pieces of audio out over whisper.cpp servers, one request in flight per server (each runs one inference at a
 * time behind a global lock, so a second request would only wait there, out of sight). Each transcription has a lane
 * of pieces; a free server takes the next piece of the next lane in turn (round robin), so a short request that arrives
 * during a long one waits for one piece, not for all of the long one's. A lane that fails or is cancelled stops its
 * running pieces and drops its waiting ones.
 */
import { cancelled, EngineError } from '../engine.js';

/** Runs one piece on `server`; must stop soon once `signal` aborts. */
export type PieceWork<S, R> = (server: S, signal: AbortSignal) => Promise<R>;

interface Piece<S, R> {
  readonly work: PieceWork<S, R>;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
  /** Servers that could not be reached for it. */
  unreached: number;
}

/** One transcription's pieces. */
export class Lane<S, R> {
  readonly #pool: FairPool<S, R>;
  /** Waiting for a server, in order. */
  readonly waiting: Piece<S, R>[] = [];
  /** Running on a server. */
  running = 0;
  readonly #controller = new AbortController();
  readonly #roomWaiters = new Set<() => void>();

  constructor(pool: FairPool<S, R>) {
    this.#pool = pool;
  }

  /** Aborted once the lane fails, is cancelled or is closed. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Queues one piece; its promise settles with the piece's result, or with the lane's failure. */
  submit(work: PieceWork<S, R>): Promise<R> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ work, resolve, reject, unreached: 0 });
      this.#pool.dispatch();
    });
  }

  /** Resolves once fewer than `max` pieces wait (or the lane stopped): a bound on the audio a lane holds. */
  room(max: number): Promise<void> {
    if (this.waiting.length < max || this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.add(resolve));
  }

  /** Stops the lane: waiting pieces are rejected with `reason`, running ones are aborted; frees its place. */
  stop(reason: unknown): void {
    if (!this.signal.aborted) this.#controller.abort(reason);
    for (const piece of this.waiting.splice(0)) piece.reject(reason);
    this.#wakeRoom();
    this.#pool.leave(this);
  }

  /** Puts back a piece that could not reach its server, first in line. */
  retry(piece: Piece<S, R>): void {
    if (this.signal.aborted) piece.reject(this.signal.reason);
    else this.waiting.unshift(piece);
  }

  /** Takes the next piece for a server (called by the pool). */
  take(): Piece<S, R> | undefined {
    const piece = this.waiting.shift();
    if (piece) this.#wakeRoom();
    return piece;
  }

  #wakeRoom(): void {
    for (const wake of this.#roomWaiters) wake();
    this.#roomWaiters.clear();
  }
}

export interface FairPoolStats {
  /** Servers running a piece. */
  readonly busy: number;
  /** Transcriptions holding a lane. */
  readonly lanes: number;
  /** Pieces waiting for a server, all lanes together. */
  readonly piecesWaiting: number;
}

export interface FairPoolOptions {
  /** Transcriptions at once (running or waiting); one more is refused with `BUSY`. */
  readonly maxLanes: number;
  /**
   * Whether a piece's failure means its server was never reached (nothing sent, e.g. a whisper.cpp child restarting):
   * the piece is then given to another server, and that one rests `restMs` before it is tried again.
   */
  readonly unreachable?: (err: unknown) => boolean;
  /** Default 1 s. */
  readonly restMs?: number;
}

export class FairPool<S, R> {
  readonly #idle: S[];
  readonly #size: number;
  readonly #lanes: Lane<S, R>[] = [];
  /** The lane served last: the next piece comes from the lane after it. */
  #turn = -1;
  readonly #options: FairPoolOptions;

  constructor(servers: readonly S[], options: FairPoolOptions) {
    if (servers.length === 0) throw new RangeError('the pool needs at least one server');
    this.#idle = [...servers];
    this.#size = servers.length;
    this.#options = options;
  }

  /** A lane for one transcription, stopped (`CANCELLED`) when `signal` aborts. Throws `BUSY` when too many are open. */
  open(signal?: AbortSignal): Lane<S, R> {
    if (signal?.aborted) throw cancelled();
    if (this.#lanes.length >= this.#options.maxLanes) throw new EngineError('BUSY');
    const lane = new Lane(this);
    this.#lanes.push(lane);
    if (signal) {
      const onAbort = () => lane.stop(cancelled(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      lane.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
    }
    return lane;
  }

  /** Removes a stopped lane (called by the lane). */
  leave(lane: Lane<S, R>): void {
    const at = this.#lanes.indexOf(lane);
    if (at < 0) return;
    this.#lanes.splice(at, 1);
    if (at <= this.#turn) this.#turn--;
  }

  /** Gives idle servers the next pieces, one lane after another. */
  dispatch(): void {
    while (this.#idle.length > 0) {
      const next = this.#nextLane();
      if (!next) return;
      const piece = next.take()!;
      const server = this.#idle.shift()!;
      next.running++;
      let rest = false;
      piece
        .work(server, next.signal)
        .then(piece.resolve, (err: unknown) => {
          // Tried on every server at most once: when none can be reached, the engine is down and the piece fails.
          rest = this.#options.unreachable?.(err) === true;
          if (rest && ++piece.unreached < this.#size) next.retry(piece);
          else piece.reject(err);
        })
        .finally(() => {
          next.running--;
          if (rest) setTimeout(() => this.#free(server), this.#options.restMs ?? 1_000);
          else this.#free(server);
        });
    }
  }

  #free(server: S): void {
    this.#idle.push(server);
    this.dispatch();
  }

  stats(): FairPoolStats {
    return { busy: this.#size - this.#idle.length, lanes: this.#lanes.length, piecesWaiting: this.#lanes.reduce((n, l) => n + l.waiting.length, 0) };
  }

  #nextLane(): Lane<S, R> | undefined {
    for (let i = 1; i <= this.#lanes.length; i++) {
      const at = (this.#turn + i) % this.#lanes.length;
      if (this.#lanes[at]!.waiting.length > 0) {
        this.#turn = at;
        return this.#lanes[at];
      }
    }
    return undefined;
  }
}
