/**
 * Who may transcribe now: a slot (at most `maxInFlight` requests uploading, queued or decoding) and the storage the
 * upload will take (upload-budget.ts), both decided before a byte of the body is accepted.
 *
 * Admission favours progress. When a request finds no slot or no room, an upload that has had its grace period and
 * still arrives slower than `contendedBytesPerSecond` over the last `paceWindowMs` (a slow or stalled upload holding
 * what others wait for) is cut with `408 BODY_TOO_SLOW`, and the newcomer takes what it gave back. Without contention
 * only the base pace (upload.ts) applies, so a slow link alone is served.
 *
 * A request that finds nothing to take waits its turn, first come first served, for at most `maxWaitMs` (then `503`
 * with `Retry-After`), its body unread: slots freed or cut go to those in line in order, so that attackers re-arriving
 * many times a second cannot take every slot a legitimate client waits for; only the first in line cuts.
 */
import { HttpError } from './respond.js';
import type { UploadMeter } from './upload.js';
import { insufficientStorage, type StorageReservation, type UploadBudget } from './upload-budget.js';

export interface AdmissionLimits {
  /** Requests admitted at once (uploading, queued or decoding). */
  readonly maxInFlight: number;
  /** An upload is judged on its pace only after this long; also the window its recent pace is measured over. */
  readonly paceWindowMs: number;
  /** Slowest recent pace an upload may keep while others wait for its slot or its storage, in bytes per second. */
  readonly contendedBytesPerSecond: number;
  /** The `Retry-After` of busy answers, in seconds. */
  readonly retryAfterSeconds: number;
  /** How long a request waits in line for a slot and its storage before it is refused. */
  readonly maxWaitMs: number;
  /** Requests waiting in line at most; one more is refused at once. */
  readonly maxWaiting: number;
}

/** How long a newcomer waits for a cut upload to give back its slot and its file. */
const HANDOVER_MS = 3_000;

/** One admitted request; as a meter it throws `503 INSUFFICIENT_STORAGE` for bytes that cannot be stored. */
export interface Ticket extends UploadMeter {
  /** The upload is complete: from now on it is the engine's, and never cut for its pace. */
  uploaded(): void;
  /** Gives back the slot and the storage; call once the upload's file is deleted. */
  release(): void;
}

interface Entry {
  readonly cut: (reason: HttpError) => void;
  readonly released: Promise<void>;
  readonly reservation: StorageReservation;
  /** Bytes received by the times they were counted, oldest first: the recent pace. */
  readonly marks: Array<{ readonly at: number; readonly bytes: number }>;
  bytes: number;
  uploading: boolean;
  wasCut: boolean;
}

/** One request waiting in line; `wake` makes it look again. */
interface Waiter {
  wake: () => void;
}

export class Admission {
  readonly #live = new Set<Entry>();
  readonly #line: Waiter[] = [];

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly budget: UploadBudget,
  ) {}

  /** Requests admitted now. */
  inFlight(): number {
    return this.#live.size;
  }

  /**
   * Admits a request whose body declares `declared` bytes (undefined: chunked), once it is its turn, or throws the
   * `HttpError` that refuses it: `503 SERVER_BUSY` or `503 INSUFFICIENT_STORAGE` (both with `Retry-After`) after
   * waiting its turn in vain, `413 INSUFFICIENT_STORAGE` at once when it could never be stored, or `signal`'s reason
   * when the request ends while it waits. `cut` ends the request if it is later cut for its pace.
   */
  async admit(declared: number | undefined, cut: (reason: HttpError) => void, signal: AbortSignal): Promise<Ticket> {
    const need = declared ?? 0;
    await this.budget.refresh();
    if (need > this.budget.capacity) {
      throw HttpError.of('INSUFFICIENT_STORAGE', `The upload (${mb(need)} MB) is larger than the ${mb(this.budget.capacity)} MB this server can store.`, { status: 413 });
    }
    if (this.#line.length >= this.limits.maxWaiting) throw this.#refusal();
    const me: Waiter = { wake: () => {} };
    this.#line.push(me);
    const onAbort = () => me.wake();
    signal.addEventListener('abort', onAbort);
    const deadline = Date.now() + this.limits.maxWaitMs;
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        if (this.#freeFor(me)) {
          await this.budget.refresh();
          if (signal.aborted) throw signal.reason;
          const reservation = this.#freeFor(me) ? this.budget.reserve(need) : undefined;
          if (reservation) return this.#enter(reservation, cut);
        }
        if (this.#line[0] === me) {
          const victim = this.#slowest();
          if (victim) {
            victim.wasCut = true;
            victim.cut(HttpError.of('BODY_TOO_SLOW', `The upload arrives slower than the ${this.limits.contendedBytesPerSecond} bytes per second this server requires while others wait.`, { headers: { connection: 'close' } }));
            await Promise.race([victim.released, delay(HANDOVER_MS)]);
            continue;
          }
        }
        const left = deadline - Date.now();
        if (left <= 0) throw this.#refusal();
        // Woken by a release (or this request ending); looks again every second, as uploads in place cross their window.
        await new Promise<void>((resolve) => {
          me.wake = resolve;
          setTimeout(resolve, Math.min(left, 1_000));
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#line.splice(this.#line.indexOf(me), 1);
      this.#wakeAll();
    }
  }

  /**
   * Whether a slot is free for `me`: slots go in line order, so one is free for the n-th in line only when more than n
   * are free (one waiting for storage does not hold back those behind it while slots are free).
   */
  #freeFor(me: Waiter): boolean {
    return this.limits.maxInFlight - this.#live.size > this.#line.indexOf(me);
  }

  #wakeAll(): void {
    for (const waiter of this.#line) waiter.wake();
  }

  /** Why a request that found nothing to take is refused: no slot, or no room. */
  #refusal(): HttpError {
    if (this.#live.size < this.limits.maxInFlight) return insufficientStorage(this.limits.retryAfterSeconds);
    return HttpError.of('SERVER_BUSY', undefined, { retryAfterSeconds: this.limits.retryAfterSeconds });
  }

  #enter(reservation: StorageReservation, cut: (reason: HttpError) => void): Ticket {
    let release!: () => void;
    const entry: Entry = { cut, reservation, released: new Promise<void>((r) => (release = r)), marks: [{ at: Date.now(), bytes: 0 }], bytes: 0, uploading: true, wasCut: false };
    this.#live.add(entry);
    return {
      received: (bytes) => {
        if (!reservation.use(bytes)) throw insufficientStorage(this.limits.retryAfterSeconds);
        entry.bytes += bytes;
        const now = Date.now();
        if (now - entry.marks[entry.marks.length - 1]!.at >= 1_000) entry.marks.push({ at: now, bytes: entry.bytes });
        // One mark at or before the window's start is all the pace needs from the past.
        while (entry.marks.length > 2 && entry.marks[1]!.at <= now - this.limits.paceWindowMs) entry.marks.shift();
      },
      uploaded: () => {
        entry.uploading = false;
      },
      release: () => {
        if (!this.#live.delete(entry)) return;
        reservation.release();
        release();
        this.#wakeAll();
      },
    };
  }

  /** The slowest upload past its window whose recent pace is below the contended pace, if any. */
  #slowest(): Entry | undefined {
    const now = Date.now();
    let slowest: { entry: Entry; pace: number } | undefined;
    for (const entry of this.#live) {
      if (!entry.uploading || entry.wasCut) continue;
      const since = [...entry.marks].reverse().find((m) => m.at <= now - this.limits.paceWindowMs);
      if (!since) continue;
      const pace = (entry.bytes - since.bytes) / ((now - since.at) / 1000);
      if (pace < this.limits.contendedBytesPerSecond && (!slowest || pace < slowest.pace)) slowest = { entry, pace };
    }
    return slowest?.entry;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
