/**
 * Who may transcribe now: a slot (at most `maxInFlight` requests uploading, queued or decoding) and the storage the
 * upload will take (upload-budget.ts), both decided before a byte of the body is accepted.
 */
import { HttpError } from './respond.js';
import type { UploadMeter } from './upload.js';
import { insufficientStorage, type UploadBudget } from './upload-budget.js';

export interface AdmissionLimits {
  /** Requests admitted at once (uploading, queued or decoding). */
  readonly maxInFlight: number;
  /** The `Retry-After` of busy answers, in seconds. */
  readonly retryAfterSeconds: number;
}

/** One admitted request; as a meter it throws `503 INSUFFICIENT_STORAGE` for bytes that cannot be stored. */
export interface Ticket extends UploadMeter {
  /** Gives back the slot and the storage; call once the upload's file is deleted. */
  release(): void;
}

export class Admission {
  readonly #live = new Set<Ticket>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly budget: UploadBudget,
  ) {}

  /** Requests admitted now. */
  inFlight(): number {
    return this.#live.size;
  }

  /**
   * Admits a request whose body declares `declared` bytes (undefined: chunked), or throws the `HttpError` that refuses
   * it: `503 SERVER_BUSY` or `503 INSUFFICIENT_STORAGE` (both with `Retry-After`), `413 INSUFFICIENT_STORAGE` when it
   * could never be stored.
   */
  async admit(declared: number | undefined): Promise<Ticket> {
    const need = declared ?? 0;
    await this.budget.refresh();
    if (need > this.budget.capacity) {
      throw new HttpError(413, 'INSUFFICIENT_STORAGE', `The upload (${mb(need)} MB) is larger than the ${mb(this.budget.capacity)} MB this server can store.`);
    }
    if (this.#live.size >= this.limits.maxInFlight) {
      throw new HttpError(503, 'SERVER_BUSY', 'The server is transcribing as much as it can; try again shortly.', { 'retry-after': String(this.limits.retryAfterSeconds) });
    }
    const reservation = this.budget.reserve(need);
    if (!reservation) throw insufficientStorage(this.limits.retryAfterSeconds);
    const ticket: Ticket = {
      received: (bytes) => {
        if (!reservation.use(bytes)) throw insufficientStorage(this.limits.retryAfterSeconds);
      },
      release: () => {
        if (this.#live.delete(ticket)) reservation.release();
      },
    };
    this.#live.add(ticket);
    return ticket;
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}
