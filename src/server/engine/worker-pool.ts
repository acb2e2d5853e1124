/**
 * A fixed set of worker threads, each running one blocking job at a time, behind a bounded queue. Made for engines
 * whose work blocks a thread for seconds (a PocketSphinx decoder, created once per worker and reused).
 *
 * The worker's side of the protocol (see `WorkerMessage`/`PoolMessage`): post `{type:'ready'}` once set up; answer
 * each `{type:'job', id, job}` with `{type:'result', id, result}` or `{type:'error', id, code?, message}`; a
 * `{type:'cancel', id}` asks it to stop that job early if it can (it must still answer). A worker that has not
 * answered `cancelGraceMs` after a cancel is terminated and replaced, so that a cancelled or timed-out job frees its
 * slot in bounded time whatever the worker is stuck in.
 */
import { Worker } from 'node:worker_threads';
import { cancelled, EngineError, type EngineErrorCode } from './engine.js';

/** What the pool posts to a worker. */
export type PoolMessage<J> = { readonly type: 'job'; readonly id: number; readonly job: J } | { readonly type: 'cancel'; readonly id: number };

/** What a worker posts to the pool. */
export type WorkerMessage<R> =
  | { readonly type: 'ready' }
  | { readonly type: 'result'; readonly id: number; readonly result: R }
  /** `code` absent: an internal failure, surfaced as a plain `Error`. */
  | { readonly type: 'error'; readonly id: number; readonly code?: EngineErrorCode; readonly message: string };

export interface WorkerPoolOptions {
  /** The worker's module. */
  readonly script: URL;
  readonly workerData?: unknown;
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
}

const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
/** Long enough for a worker that checks between steps (milliseconds apart) to answer; short next to a client's wait. */
const DEFAULT_CANCEL_GRACE_MS = 3_000;

export interface PoolStats {
  readonly workers: number;
  readonly running: number;
  readonly queued: number;
}

interface Task<J, R> {
  readonly id: number;
  readonly job: J;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
  /** Set once the caller has its answer; a later answer from the worker is dropped. */
  settled: boolean;
  readonly detach: () => void;
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
  private readonly slots: Slot<J, R>[] = [];
  private readonly queue: Task<J, R>[] = [];
  private nextId = 1;
  private closing = false;
  private closed?: Promise<void>;
  private readonly idleWaiters = new Set<() => void>();

  private constructor(private readonly options: WorkerPoolOptions) {}

  /** Starts `size` workers and resolves once all are ready; rejects (stopping the others) if one fails to start. */
  static async start<J, R>(options: WorkerPoolOptions): Promise<WorkerPool<J, R>> {
    if (!(Number.isInteger(options.size) && options.size >= 1)) throw new RangeError('a worker pool needs at least one worker');
    if (!(Number.isInteger(options.maxQueue) && options.maxQueue >= 0)) throw new RangeError('maxQueue must be a whole number');
    const pool = new WorkerPool<J, R>(options);
    const started = Array.from({ length: options.size }, () => pool.spawn());
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
  run(job: J, signal?: AbortSignal): Promise<R> {
    if (this.closing) return Promise.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
    if (signal?.aborted) return Promise.reject(cancelled());
    const idle = this.slots.find((s) => s.state === 'idle');
    if (!idle && this.queue.length >= this.options.maxQueue) {
      return Promise.reject(new EngineError('BUSY', `All ${this.live()} workers are busy and ${this.queue.length} jobs are waiting; try again later.`));
    }
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => this.abort(task);
      const task: Task<J, R> = {
        id: this.nextId++,
        job,
        settled: false,
        resolve: (result) => settle(() => resolve(result)),
        reject: (err) => settle(() => reject(err)),
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      const settle = (answer: () => void) => {
        if (task.settled) return;
        task.settled = true;
        task.detach();
        answer();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (idle) this.dispatch(idle, task);
      else this.queue.push(task);
    });
  }

  stats(): PoolStats {
    return { workers: this.live(), running: this.slots.filter((s) => s.state === 'busy').length, queued: this.queue.length };
  }

  /**
   * Refuses new jobs and the waiting ones (`UNAVAILABLE`), lets running jobs finish for `closeTimeoutMs` (their
   * callers are answered `UNAVAILABLE` if they are cut), then stops every worker.
   */
  close(): Promise<void> {
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    this.closing = true;
    for (const task of this.queue.splice(0)) task.reject(new EngineError('UNAVAILABLE', 'The engine is shutting down.'));
    const deadline = Date.now() + (this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    while (this.slots.some((s) => s.state === 'busy' || s.state === 'starting') && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.idleWaiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const slot of this.slots) slot.task?.reject(new EngineError('UNAVAILABLE', 'The engine shut down before the transcription finished.'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private live(): number {
    return this.slots.filter((s) => s.state !== 'dead').length;
  }

  /** Starts a worker in a new slot, or in `slot` to replace its dead worker. */
  private spawn(slot?: Slot<J, R>): { slot: Slot<J, R>; ready: Promise<void> } {
    const worker = new Worker(this.options.script, { workerData: this.options.workerData });
    const target: Slot<J, R> = slot ?? { worker, state: 'starting', failedStarts: 0 };
    Object.assign(target, { worker, state: 'starting', task: undefined });
    if (!slot) this.slots.push(target);
    const ready = new Promise<void>((resolve, reject) => {
      let lastError: unknown;
      worker.on('message', (message: WorkerMessage<R>) => {
        if (message.type === 'ready') {
          resolve();
          target.failedStarts = 0;
          this.becomeIdle(target);
        } else {
          this.answer(target, message);
        }
      });
      worker.on('error', (err) => (lastError = err));
      worker.on('exit', (code) => {
        reject(new EngineError('UNAVAILABLE', `The speech worker failed to start: ${(lastError as Error)?.message ?? `exit code ${code}`}`, { cause: lastError }));
        this.died(target, worker, code, lastError);
      });
    });
    ready.catch(() => {}); // only start() awaits it: a replacement's failed start must not be an unhandled rejection
    return { slot: target, ready };
  }

  private dispatch(slot: Slot<J, R>, task: Task<J, R>): void {
    slot.state = 'busy';
    slot.task = task;
    slot.worker.postMessage({ type: 'job', id: task.id, job: task.job } satisfies PoolMessage<J>);
    this.options.onJobStart?.(slot.worker);
  }

  private answer(slot: Slot<J, R>, message: Exclude<WorkerMessage<R>, { type: 'ready' }>): void {
    const task = slot.task;
    if (!task || task.id !== message.id) return;
    if (message.type === 'result') task.resolve(message.result);
    else task.reject(message.code ? new EngineError(message.code, message.message) : new Error(message.message));
    this.becomeIdle(slot);
  }

  private becomeIdle(slot: Slot<J, R>): void {
    clearTimeout(slot.cancelDeadline);
    slot.state = 'idle';
    slot.task = undefined;
    const next = this.closing ? undefined : this.queue.shift();
    if (next) this.dispatch(slot, next);
    else this.wakeIdleWaiters();
  }

  private abort(task: Task<J, R>): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) this.queue.splice(queued, 1);
    const running = this.slots.find((s) => s.task === task);
    // PocketSphinx cannot be stopped inside a call; the worker stops at its next step and answers, freeing the slot.
    if (running) {
      running.worker.postMessage({ type: 'cancel', id: task.id } satisfies PoolMessage<J>);
      this.terminateUnlessAnswered(running, task);
    }
    task.reject(cancelled());
  }

  /**
   * Terminates `slot`'s worker if it still holds `task` after the grace: a worker stuck in one long call would keep
   * the slot, and every job behind it waiting, for as long as the call lasts. Its exit replaces it (`died`).
   */
  private terminateUnlessAnswered(slot: Slot<J, R>, task: Task<J, R>): void {
    const worker = slot.worker;
    slot.cancelDeadline = setTimeout(() => {
      if (slot.worker === worker && slot.task === task && !this.closing) void worker.terminate();
    }, this.options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS);
  }

  private died(slot: Slot<J, R>, worker: Worker, code: number, error: unknown): void {
    if (slot.worker !== worker) return;
    const wasStarting = slot.state === 'starting';
    slot.task?.reject(new EngineError('UNAVAILABLE', `The speech worker stopped while transcribing (${(error as Error)?.message ?? `exit code ${code}`}).`, { cause: error }));
    clearTimeout(slot.cancelDeadline);
    slot.state = 'dead';
    slot.task = undefined;
    if (this.closing) return this.wakeIdleWaiters();
    slot.failedStarts = wasStarting ? slot.failedStarts + 1 : 0;
    if (wasStarting && this.live() === 0) {
      // Nothing can run the waiting jobs until a restart succeeds: tell their callers now rather than in 30 s.
      for (const task of this.queue.splice(0)) task.reject(new EngineError('UNAVAILABLE', 'No speech worker is running.'));
    }
    // A crash mid-job is replaced at once; a worker that cannot even start is retried less and less often.
    // (At once, not on a timer: an unref'd timer would let a process whose callers only wait for the pool exit first.)
    if (slot.failedStarts === 0) return void this.spawn(slot);
    const delay = RESTART_DELAYS_MS[Math.min(slot.failedStarts, RESTART_DELAYS_MS.length) - 1]!;
    setTimeout(() => this.closing || this.spawn(slot), delay).unref();
  }

  private wakeIdleWaiters(): void {
    for (const wake of this.idleWaiters) wake();
    this.idleWaiters.clear();
  }
}
