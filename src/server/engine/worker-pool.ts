/**
 * A fixed set of worker threads, each running one blocking job at a time, behind a bounded queue. Made for engines
 * whose work blocks a thread for seconds (a PocketSphinx decoder, created once per worker and reused).
 *
 * The worker's side of the protocol (see `WorkerMessage`/`PoolMessage`): post `{type:'ready'}` once set up; answer
 * each `{type:'job', id, job}` with `{type:'result', id, result}` or `{type:'error', id, code?, message}`; a
 * `{type:'cancel', id}` asks it to stop that job early if it can (it must still answer). A worker that has not
 * answered `cancelGraceMs` after a cancel is terminated and replaced, so that a cancelled or timed-out job frees its
 * slot in bounded time whatever the worker is stuck in.
 *
 * A request whose work splits (one long file) runs with `runSplit`: its job hands out pieces as it goes (`{type:'piece',
 * id, job}`), and gets `{type:'credit', id}` back each time one of them starts on a worker, so that it can bound how
 * many wait in this thread. The request keeps at least one worker until its last piece, like any job, and every worker
 * nobody else is waiting for helps it; a request that arrives meanwhile waits for one piece to finish, not for the
 * whole file. The pieces take no place in the queue, so splitting never lets one request crowd others out of `maxQueue`.
 *
 * A job may tell its caller how it is going before it answers (`{type:'progress', id, progress}`, e.g. the words of
 * each utterance it recognised): `run`'s `onProgress` and `runSplit`'s `listener` get them in the order they were posted.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { cancelled, EngineError, type EngineErrorCode } from './engine.js';

/** What the pool posts to a worker. */
export type PoolMessage<J> =
  | { readonly type: 'job'; readonly id: number; readonly job: J }
  | { readonly type: 'cancel'; readonly id: number }
  /** One piece that job `id` handed out has started on a worker. */
  | { readonly type: 'credit'; readonly id: number };

/** What a worker posts to the pool. */
export type WorkerMessage<R, J = never, P = never> =
  | { readonly type: 'ready' }
  /** What job `id` has done so far, for its caller (see `run`'s `onProgress`). */
  | { readonly type: 'progress'; readonly id: number; readonly progress: P }
  /** A piece of job `id` (run with `runSplit`) for any worker to run. */
  | { readonly type: 'piece'; readonly id: number; readonly job: J }
  | { readonly type: 'result'; readonly id: number; readonly result: R }
  /** `code` absent: an internal failure, surfaced as a plain `Error`. */
  | { readonly type: 'error'; readonly id: number; readonly code?: EngineErrorCode; readonly message: string };

export interface WorkerPoolOptions<J = unknown> {
  /** The worker's module. */
  readonly script: URL;
  readonly workerData?: unknown;
  /** Each worker's V8 heap limits. */
  readonly resourceLimits?: ResourceLimits;
  /** The buffers a job's message moves to its worker instead of copying (the job no longer holds them). */
  readonly transfer?: (job: J) => readonly ArrayBuffer[];
  /** Number of workers (each holds its own decoder). */
  readonly size: number;
  /** Jobs that may wait for a worker; one more is refused with `BUSY`. */
  readonly maxQueue: number;
  /** Called as a job starts on a worker: for diagnostics, and for tests that stop a worker mid-job. */
  readonly onJobStart?: (worker: Worker) => void;
  /** How long `close` waits for running jobs before it terminates their workers (default 5 s). */
  readonly closeTimeoutMs?: number;
  /** How long a worker has to answer a cancelled job before it is terminated and replaced (default 3 s). */
  readonly cancelGraceMs?: number;
  /**
   * How long a worker has to post `ready` (load its model, set up its decoder) before it is terminated as a failed
   * start (default 60 s): a worker stuck in its set-up must fail the server's start, not hold it for ever.
   */
  readonly startTimeoutMs?: number;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/** Long enough for a worker that checks between steps (milliseconds apart) to answer; short next to a client's wait. */
const DEFAULT_CANCEL_GRACE_MS = 3_000;
const DEFAULT_START_TIMEOUT_MS = 60_000;

export interface PoolStats {
  readonly workers: number;
  readonly running: number;
  readonly queued: number;
  /** Pieces handed out by split jobs that wait for a worker (held by this thread). */
  readonly piecesWaiting: number;
}

interface Task<J, R> {
  readonly id: number;
  readonly job: J;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
  /** Set once the caller has its answer; a later answer from the worker is dropped. */
  settled: boolean;
  readonly detach: () => void;
  /** The split request this job is a piece of. */
  readonly batch?: Batch<J, R>;
  /** Gets the job's progress messages while it is unsettled. */
  readonly onProgress?: (progress: never) => void;
}

/**
 * What a split request's caller hears as it runs, in order: the first job's progress, each piece as it is handed out
 * (numbered from 0 in that order), each piece's progress and its result as they come in.
 */
export interface SplitListener<J, R, P> {
  progress?(progress: P): void;
  piece?(index: number, job: J): void;
  pieceProgress?(index: number, progress: P): void;
  pieceDone?(index: number, result: R): void;
}

/** One split request (`runSplit`): its first job and the pieces that job hands out. */
interface Batch<J, R> {
  /** The job that hands out the pieces. */
  parent?: Task<J, R>;
  /** Pieces neither queued nor on a worker yet. */
  readonly pending: Task<J, R>[];
  /** The first job and every piece, for cancelling the ones left when the batch fails. */
  readonly tasks: Task<J, R>[];
  /** Rejects the whole batch (once), cancelling its pieces. */
  readonly fail: (err: unknown) => void;
  /** Takes a piece the first job handed out. */
  readonly add: (job: J) => void;
}

interface Slot<J, R> {
  worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'dead';
  task?: Task<J, R>;
  /** Starts that failed in a row, for the restart back-off. */
  failedStarts: number;
  /** Set while a cancelled job runs: terminates the worker unless it answers first. */
  cancelDeadline?: ReturnType<typeof setTimeout>;
}

/** Delays between attempts to replace a worker that died and whose replacement failed to start. */
const RESTART_DELAYS_MS = [1_000, 5_000, 30_000];

export class WorkerPool<J, R> {
  readonly #slots: Slot<J, R>[] = [];
  readonly #queue: Task<J, R>[] = [];
  /** Split requests with pieces left, oldest first. */
  readonly #batches: Batch<J, R>[] = [];
  #nextId = 1;
  #closing = false;
  #closed?: Promise<void>;
  readonly #idleWaiters = new Set<() => void>();

  readonly #options: WorkerPoolOptions<J>;

  private constructor(options: WorkerPoolOptions<J>) {
    this.#options = options;
  }

  /** Starts `size` workers and resolves once all are ready; rejects (stopping the others) if one fails to start. */
  static async start<J, R>(options: WorkerPoolOptions<J>): Promise<WorkerPool<J, R>> {
    if (!(Number.isInteger(options.size) && options.size >= 1)) throw new RangeError('a worker pool needs at least one worker');
    if (!(Number.isInteger(options.maxQueue) && options.maxQueue >= 0)) throw new RangeError('maxQueue must be a whole number');
    const pool = new WorkerPool<J, R>(options);
    const started = Array.from({ length: options.size }, () => pool.#spawn());
    const outcomes = await Promise.allSettled(started.map((s) => s.ready));
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  /**
   * Runs `job` on the next free worker. Rejects with `EngineError`: `BUSY` when the queue is full, `CANCELLED` when
   * `signal` aborts (a waiting job leaves the queue; a running one is asked to stop, and its worker is busy until it
   * has, or until it is replaced `cancelGraceMs` later), `UNAVAILABLE` when its worker dies or the pool is closing.
   */
  run<P = never>(job: J, signal?: AbortSignal, onProgress?: (progress: P) => void): Promise<R> {
    if (this.#closing) return Promise.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
    if (signal?.aborted) return Promise.reject(cancelled());
    const idle = this.#slots.find((s) => s.state === 'idle');
    if (!idle && this.#queue.length >= this.#options.maxQueue) return Promise.reject(this.#busy());
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => this.#abort(task);
      const task = this.#task(job, resolve, reject, () => signal?.removeEventListener('abort', onAbort), undefined, onProgress);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (idle) this.#dispatch(idle, task);
      else this.#queue.push(task);
    });
  }

  /**
   * Runs `job`, which may hand out pieces as it runs (see the module comment): resolves with its result and its pieces'
   * results in the order they were handed out, once all are in, or rejects with the first failure, which cancels the
   * job and every other piece (as `signal` aborting does). The job queues like `run`'s; each piece starts on an idle
   * worker, or waits for the next worker this request or nobody else needs.
   */
  runSplit<P = never>(job: J, signal?: AbortSignal, listener: SplitListener<J, R, P> = {}): Promise<{ result: R; pieces: { job: J; result: R }[] }> {
    if (this.#closing) return Promise.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
    if (signal?.aborted) return Promise.reject(cancelled());
    const idle = this.#slots.find((s) => s.state === 'idle');
    if (!idle && this.#queue.length >= this.#options.maxQueue) return Promise.reject(this.#busy());
    return new Promise((resolve, reject) => {
      const pieces: { job: J; result?: R }[] = [];
      let result: { value: R } | undefined;
      let left = 0;
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        signal?.removeEventListener('abort', onAbort);
        const at = this.#batches.indexOf(batch);
        if (at >= 0) this.#batches.splice(at, 1);
        batch.pending.length = 0;
        for (const task of batch.tasks) if (!task.settled) this.#abort(task);
        if (err === undefined) resolve({ result: result!.value, pieces: pieces.map((p) => ({ job: p.job, result: p.result! })) });
        else reject(err);
      };
      const onAbort = () => finish(cancelled());
      const add = (pieceJob: J) => {
        if (done) return;
        const entry: { job: J; result?: R } = { job: pieceJob };
        const index = pieces.push(entry) - 1;
        left++;
        listener.piece?.(index, pieceJob);
        const piece = this.#task(
          pieceJob,
          (value) => {
            entry.result = value;
            if (!done) listener.pieceDone?.(index, value);
            if (--left === 0 && result) finish();
          },
          finish,
          () => {},
          batch,
          (progress: P) => listener.pieceProgress?.(index, progress),
        );
        batch.tasks.push(piece);
        const idleSlot = this.#slots.find((s) => s.state === 'idle');
        if (idleSlot) this.#dispatch(idleSlot, piece);
        else batch.pending.push(piece);
      };
      const batch: Batch<J, R> = { pending: [], tasks: [], fail: finish, add };
      batch.parent = this.#task(
        job,
        (value) => {
          result = { value };
          if (left === 0) finish();
        },
        finish,
        () => {},
        batch,
        listener.progress?.bind(listener),
      );
      batch.tasks.push(batch.parent);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#batches.push(batch);
      if (idle) this.#dispatch(idle, batch.parent);
      else this.#queue.push(batch.parent);
    });
  }

  /** A job's bookkeeping: `resolve`/`reject` answer its caller once (later answers are dropped), then `detach`. */
  #task<P>(job: J, resolve: (result: R) => void, reject: (err: unknown) => void, detach: () => void, batch?: Batch<J, R>, onProgress?: (progress: P) => void): Task<J, R> {
    const task: Task<J, R> = {
      id: this.#nextId++,
      job,
      settled: false,
      resolve: (result) => settle(() => resolve(result)),
      reject: (err) => settle(() => reject(err)),
      detach,
      batch,
      onProgress: onProgress as ((progress: never) => void) | undefined,
    };
    const settle = (answer: () => void) => {
      if (task.settled) return;
      task.settled = true;
      task.detach();
      answer();
    };
    return task;
  }

  stats(): PoolStats {
    const piecesWaiting = this.#batches.reduce((n, b) => n + b.pending.length, 0);
    return { workers: this.#live(), running: this.#slots.filter((s) => s.state === 'busy').length, queued: this.#queue.length, piecesWaiting };
  }

  #busy(): EngineError {
    return new EngineError('BUSY', `All ${this.#live()} workers are busy and ${this.#queue.length} jobs are waiting; try again later.`);
  }

  /**
   * Refuses new jobs and the waiting ones (`UNAVAILABLE`), lets running jobs finish for `closeTimeoutMs` (their
   * callers are answered `UNAVAILABLE` if they are cut), then stops every worker.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutDown();
    return this.#closed;
  }

  async #shutDown(): Promise<void> {
    this.#closing = true;
    for (const task of this.#queue.splice(0)) task.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
    // A split request cannot finish once its pending pieces will never run: it fails now, and its running pieces stop.
    for (const batch of [...this.#batches]) batch.fail(new EngineError('UNAVAILABLE', 'The engine shut down before the transcription finished.'));
    const deadline = Date.now() + (this.#options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    while (this.#slots.some((s) => s.state === 'busy' || s.state === 'starting') && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.#idleWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const slot of this.#slots) slot.task?.reject(new EngineError('UNAVAILABLE', 'The engine shut down before the transcription finished.'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #live(): number {
    return this.#slots.filter((s) => s.state !== 'dead').length;
  }

  /** Starts a worker in a new slot, or in `slot` to replace its dead worker. */
  #spawn(slot?: Slot<J, R>): { slot: Slot<J, R>; ready: Promise<void> } {
    const worker = new Worker(this.#options.script, { workerData: this.#options.workerData, resourceLimits: this.#options.resourceLimits });
    const target: Slot<J, R> = slot ?? { worker, state: 'starting', failedStarts: 0 };
    Object.assign(target, { worker, state: 'starting', task: undefined });
    if (!slot) this.#slots.push(target);
    const ready = new Promise<void>((resolve, reject) => {
      let lastError: unknown;
      const startMs = this.#options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
      const startDeadline = setTimeout(() => {
        lastError = new Error(`it was not ready within ${startMs / 1000} s (it loads its model and sets up its decoder)`);
        void worker.terminate();
      }, startMs);
      worker.on('message', (message: WorkerMessage<R, J, unknown>) => {
        if (message.type === 'ready') {
          clearTimeout(startDeadline);
          resolve();
          target.failedStarts = 0;
          this.#becomeIdle(target);
        } else {
          this.#answer(target, message);
        }
      });
      worker.on('error', (err) => (lastError = err));
      worker.on('exit', (code) => {
        clearTimeout(startDeadline);
        reject(new EngineError('UNAVAILABLE', `The speech worker failed to start: ${(lastError as Error)?.message ?? `exit code ${code}`}`, { cause: lastError }));
        this.#died(target, worker, code, lastError);
      });
    });
    ready.catch(() => {}); // only start() awaits it: a replacement's failed start must not be an unhandled rejection
    return { slot: target, ready };
  }

  #dispatch(slot: Slot<J, R>, task: Task<J, R>): void {
    slot.state = 'busy';
    slot.task = task;
    slot.worker.postMessage({ type: 'job', id: task.id, job: task.job } satisfies PoolMessage<J>, [...(this.#options.transfer?.(task.job) ?? [])]);
    this.#options.onJobStart?.(slot.worker);
    // A piece has left this thread: the job that handed it out may hand out another.
    const parent = task.batch?.parent;
    if (parent && parent !== task && !parent.settled) this.#slots.find((s) => s.task === parent)?.worker.postMessage({ type: 'credit', id: parent.id } satisfies PoolMessage<J>);
  }

  #answer(slot: Slot<J, R>, message: Exclude<WorkerMessage<R, J, unknown>, { type: 'ready' }>): void {
    const task = slot.task;
    if (!task || task.id !== message.id) return;
    if (message.type === 'progress') return void (task.settled || task.onProgress?.(message.progress as never));
    if (message.type === 'piece') return void (task.batch?.parent === task && task.batch.add(message.job));
    if (message.type === 'result') task.resolve(message.result);
    else task.reject(message.code ? new EngineError(message.code, message.message) : new Error(message.message));
    this.#becomeIdle(slot, task);
  }

  /** Frees `slot`, which just ran `finished` (if anything), and gives it the next job (`next`). */
  #becomeIdle(slot: Slot<J, R>, finished?: Task<J, R>): void {
    clearTimeout(slot.cancelDeadline);
    slot.state = 'idle';
    slot.task = undefined;
    const next = this.#closing ? undefined : this.#next(finished?.batch);
    if (next) this.#dispatch(slot, next);
    else this.#wakeIdleWaiters();
  }

  /**
   * What a worker that just ran a piece of `batch` (or anything else) does next. It stays with its split request if no
   * one is waiting, or if it is the request's last worker (a split request holds at least one worker to the end, like
   * any job); otherwise it serves the queue; with the queue empty, it helps the oldest split request with pieces left.
   */
  #next(batch: Batch<J, R> | undefined): Task<J, R> | undefined {
    if (batch && batch.pending.length > 0 && (this.#queue.length === 0 || !this.#slots.some((s) => s.task?.batch === batch))) return batch.pending.shift();
    return this.#queue.shift() ?? this.#batches.find((b) => b.pending.length > 0)?.pending.shift();
  }

  #abort(task: Task<J, R>): void {
    const queued = this.#queue.indexOf(task);
    if (queued >= 0) this.#queue.splice(queued, 1);
    const running = this.#slots.find((s) => s.task === task);
    // PocketSphinx cannot be stopped inside a call; the worker stops at its next step and answers, freeing the slot.
    if (running) {
      running.worker.postMessage({ type: 'cancel', id: task.id } satisfies PoolMessage<J>);
      this.#terminateUnlessAnswered(running, task);
    }
    task.reject(cancelled());
  }

  /**
   * Terminates `slot`'s worker if it still holds `task` after the grace: a worker stuck in one long call would keep
   * the slot, and every job behind it waiting, for as long as the call lasts. Its exit replaces it (`died`).
   */
  #terminateUnlessAnswered(slot: Slot<J, R>, task: Task<J, R>): void {
    const worker = slot.worker;
    slot.cancelDeadline = setTimeout(() => {
      if (slot.worker === worker && slot.task === task && !this.#closing) void worker.terminate();
    }, this.#options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS);
  }

  #died(slot: Slot<J, R>, worker: Worker, code: number, error: unknown): void {
    if (slot.worker !== worker) return;
    const wasStarting = slot.state === 'starting';
    slot.task?.reject(new EngineError('UNAVAILABLE', `The speech worker stopped while transcribing (${(error as Error)?.message ?? `exit code ${code}`}).`, { cause: error }));
    clearTimeout(slot.cancelDeadline);
    slot.state = 'dead';
    slot.task = undefined;
    if (this.#closing) return this.#wakeIdleWaiters();
    slot.failedStarts = wasStarting ? slot.failedStarts + 1 : 0;
    if (wasStarting && this.#live() === 0) {
      // Nothing can run the waiting jobs until a restart succeeds: tell their callers now rather than in 30 s.
      for (const task of this.#queue.splice(0)) task.reject(new EngineError('UNAVAILABLE', 'No speech worker is running.'));
    }
    // A crash mid-job is replaced at once; a worker that cannot even start is retried less and less often.
    // (At once, not on a timer: an unref'd timer would let a process whose callers only wait for the pool exit first.)
    if (slot.failedStarts === 0) return void this.#spawn(slot);
    const delay = RESTART_DELAYS_MS[Math.min(slot.failedStarts, RESTART_DELAYS_MS.length) - 1]!;
    setTimeout(() => this.#closing || this.#spawn(slot), delay).unref();
  }

  #wakeIdleWaiters(): void {
    for (const wake of this.#idleWaiters) wake();
    this.#idleWaiters.clear();
  }
}
