/**
 * Who may transcribe now: a slot (at most `maxInFlight` requests uploading, queued or decoding) and the storage the
 * upload will take (upload-budget.ts), both decided before a byte of the body is accepted.
 *
 * Admission favours progress. When a request finds no slot or no room, an upload that has had its grace period and
 * still arrives slower than `contendedBytesPerSecond` over the last `paceWindowMs` (a slow or stalled upload holding
 * what others wait for) is cut with `408 BODY_TOO_SLOW`, and the newcomer takes what it gave back. Without contention
 * only the base pace (upload.ts) applies, so a slow link alone is served.
 *
 * Admission shares what it has between source addresses (as the host proxy stated them; a request of no known source
 * is a source of its own). While requests wait, a source's fair share is the slots divided by the sources holding or
 * waiting for one (at least one slot), and as much of the storage. A request that waits while its source holds less
 * than its share cuts the newest upload still uploading of a source holding more than its share of the slots, or more
 * than its share of the storage in more than one upload (`429 SOURCE_SHARE_EXCEEDED` with `Retry-After`), before it
 * cuts anyone for their pace: one address cannot keep the others out by uploading at any pace, and keeps at least its
 * share (a source is never cut below one upload).
 *
 * A request that finds nothing to take waits its turn for at most `maxWaitMs` (then `503` with `Retry-After`), its
 * body unread. The line is served round-robin between sources: a waiting request's turn counts the slots its source
 * holds and its source's requests ahead of it in line, the lowest count first, first come first served among equals.
 * So attackers re-arriving many times a second cannot take every slot a legitimate client waits for, and one source
 * filling the line does not delay another; only the request whose turn is next cuts.
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
  /**
   * Requests waiting in line at most. One more is refused at once, unless another source has at least two more requests
   * in line than the newcomer's: then that source's newest waiting request is refused in its place.
   */
  readonly maxWaiting: number;
}

/** Whom a request counts against: its source address, or an object of its own when its source is unknown. */
type Source = string | object;

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
  readonly source: Source;
  /** Admission order: the newest over-share upload is cut first. */
  readonly seq: number;
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
  readonly source: Source;
  wake: () => void;
  /** Set when the request is refused while it waits (its place in a full line given to another source). */
  refused?: HttpError;
}

export class Admission {
  readonly #live = new Set<Entry>();
  readonly #line: Waiter[] = [];
  #admitted = 0;
  readonly #limits: AdmissionLimits;
  readonly #budget: UploadBudget;

  constructor(
    limits: AdmissionLimits,
    budget: UploadBudget,
  ) {
    this.#limits = limits;
    this.#budget = budget;
  }

  /** Requests admitted now. */
  inFlight(): number {
    return this.#live.size;
  }

  /**
   * Admits a request whose body declares `declared` bytes (undefined: chunked), once it is its turn, or throws the
   * `HttpError` that refuses it: `503 SERVER_BUSY` or `503 INSUFFICIENT_STORAGE` (both with `Retry-After`) after
   * waiting its turn in vain, `413 INSUFFICIENT_STORAGE` at once when it could never be stored, or `signal`'s reason
   * when the request ends while it waits. `source` is the client's address (undefined: unknown). `cut` ends the
   * request if it is later cut for its pace or its source's share.
   */
  async admit(declared: number | undefined, source: string | undefined, cut: (reason: HttpError) => void, signal: AbortSignal): Promise<Ticket> {
    const need = declared ?? 0;
    await this.#budget.refresh();
    if (need > this.#budget.capacity) {
      throw HttpError.of('INSUFFICIENT_STORAGE', `The upload (${mb(need)} MB) is larger than the ${mb(this.#budget.capacity)} MB this server can store.`, { status: 413 });
    }
    const me: Waiter = { source: source ?? {}, wake: () => {} };
    if (this.#line.length >= this.#limits.maxWaiting && !this.#makeRoomInLine(me.source)) throw this.#refusal();
    this.#line.push(me);
    const onAbort = () => me.wake();
    signal.addEventListener('abort', onAbort);
    const deadline = Date.now() + this.#limits.maxWaitMs;
    try {
      for (;;) {
        if (signal.aborted) throw signal.reason;
        if (me.refused) throw me.refused;
        if (this.#freeFor(me)) {
          await this.#budget.refresh();
          if (signal.aborted) throw signal.reason;
          if (me.refused) throw me.refused;
          const reservation = this.#freeFor(me) ? this.#budget.reserve(need) : undefined;
          if (reservation) return this.#enter(me.source, reservation, cut);
        }
        if (this.#turn(me) === 0) {
          const victim = this.#overShare(me.source) ?? this.#slowest();
          if (victim) {
            victim.entry.wasCut = true;
            victim.entry.cut(victim.reason);
            await Promise.race([victim.entry.released, delay(HANDOVER_MS)]);
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
   * Whether a slot is free for `me`: slots go in turn order, so one is free for the n-th to be served only when more
   * than n are free (one waiting for storage does not hold back those behind it while slots are free).
   */
  #freeFor(me: Waiter): boolean {
    return this.#limits.maxInFlight - this.#live.size > this.#turn(me);
  }

  /**
   * How many waiting requests are served before `me`: round-robin between sources, by the slots a request's source
   * holds plus its source's requests ahead of it in line, line order among equals.
   */
  #turn(me: Waiter): number {
    const ahead = new Map<Source, number>();
    const rounds = this.#line.map((waiter, index) => {
      const before = ahead.get(waiter.source) ?? 0;
      ahead.set(waiter.source, before + 1);
      return { waiter, index, round: this.#held(waiter.source).slots + before };
    });
    rounds.sort((a, b) => a.round - b.round || a.index - b.index);
    return rounds.findIndex((r) => r.waiter === me);
  }

  /** The slots and the storage `source` holds now. */
  #held(source: Source): { slots: number; bytes: number } {
    let slots = 0;
    let bytes = 0;
    for (const entry of this.#live) {
      if (entry.source !== source) continue;
      slots++;
      bytes += entry.reservation.reserved;
    }
    return { slots, bytes };
  }

  /** Each source's fair share while requests wait: the slots and the storage divided by the sources holding or waiting. */
  #share(): { slots: number; bytes: number } {
    const sources = new Set<Source>([...[...this.#live].map((e) => e.source), ...this.#line.map((w) => w.source)]).size;
    return { slots: Math.max(1, Math.floor(this.#limits.maxInFlight / sources)), bytes: this.#budget.capacity / sources };
  }

  /**
   * For a request of `source` (below its share), the newest upload still uploading of another source holding more than
   * its share of the slots, or more than its share of the storage in more than one upload.
   */
  #overShare(source: Source): { entry: Entry; reason: HttpError } | undefined {
    const share = this.#share();
    if (this.#held(source).slots >= share.slots) return undefined;
    let newest: Entry | undefined;
    for (const entry of this.#live) {
      if (entry.source === source || !entry.uploading || entry.wasCut) continue;
      const held = this.#held(entry.source);
      const over = held.slots > share.slots || (held.slots > 1 && held.bytes > share.bytes);
      if (over && (!newest || entry.seq > newest.seq)) newest = entry;
    }
    if (!newest) return undefined;
    const reason = HttpError.of('SOURCE_SHARE_EXCEEDED', undefined, { retryAfterSeconds: this.#limits.retryAfterSeconds, headers: { connection: 'close' } });
    return { entry: newest, reason };
  }

  /**
   * A full line takes a request of `source` in place of the newest waiting request of the source with the most in
   * line, when that is more than `source` has: one source filling the line cannot keep another out of it.
   */
  #makeRoomInLine(source: Source): boolean {
    const counts = new Map<Source, number>();
    for (const waiter of this.#line) if (!waiter.refused) counts.set(waiter.source, (counts.get(waiter.source) ?? 0) + 1);
    let most: Source | undefined;
    for (const [s, n] of counts) if (most === undefined || n > counts.get(most)!) most = s;
    if (most === undefined || counts.get(most)! <= (counts.get(source) ?? 0) + 1) return false;
    const displaced = [...this.#line].reverse().find((w) => w.source === most && !w.refused)!;
    displaced.refused = this.#refusal();
    displaced.wake();
    return true;
  }

  #wakeAll(): void {
    for (const waiter of this.#line) waiter.wake();
  }

  /** Why a request that found nothing to take is refused: no slot, or no room. */
  #refusal(): HttpError {
    if (this.#live.size < this.#limits.maxInFlight) return insufficientStorage(this.#limits.retryAfterSeconds);
    return HttpError.of('SERVER_BUSY', undefined, { retryAfterSeconds: this.#limits.retryAfterSeconds });
  }

  #enter(source: Source, reservation: StorageReservation, cut: (reason: HttpError) => void): Ticket {
    let release!: () => void;
    const entry: Entry = { source, seq: this.#admitted++, cut, reservation, released: new Promise<void>((r) => (release = r)), marks: [{ at: Date.now(), bytes: 0 }], bytes: 0, uploading: true, wasCut: false };
    this.#live.add(entry);
    return {
      received: (bytes) => {
        if (!reservation.use(bytes)) throw insufficientStorage(this.#limits.retryAfterSeconds);
        entry.bytes += bytes;
        const now = Date.now();
        if (now - entry.marks[entry.marks.length - 1]!.at >= 1_000) entry.marks.push({ at: now, bytes: entry.bytes });
        // One mark at or before the window's start is all the pace needs from the past.
        while (entry.marks.length > 2 && entry.marks[1]!.at <= now - this.#limits.paceWindowMs) entry.marks.shift();
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
  #slowest(): { entry: Entry; reason: HttpError } | undefined {
    const now = Date.now();
    let slowest: { entry: Entry; pace: number } | undefined;
    for (const entry of this.#live) {
      if (!entry.uploading || entry.wasCut) continue;
      const since = [...entry.marks].reverse().find((m) => m.at <= now - this.#limits.paceWindowMs);
      if (!since) continue;
      const pace = (entry.bytes - since.bytes) / ((now - since.at) / 1000);
      if (pace < this.#limits.contendedBytesPerSecond && (!slowest || pace < slowest.pace)) slowest = { entry, pace };
    }
    if (!slowest) return undefined;
    const reason = HttpError.of('BODY_TOO_SLOW', `The upload arrives slower than the ${this.#limits.contendedBytesPerSecond} bytes per second this server requires while others wait.`, { headers: { connection: 'close' } });
    return { entry: slowest.entry, reason };
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
