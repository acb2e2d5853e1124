/**
 * The one clock of the window's surfaces. Every age they show (status bar, BlindBox view, attestation view, a
 * transcription's elapsed time) is read from the same tick, so two surfaces never disagree about how old a state is
 * and none stops ageing while another moves on. It ticks once a second while anyone listens, and not at all otherwise.
 * No vscode import: unit-tested.
 */
import { formatDuration } from '../../core/util/format-duration.js';
import type { ReceiptCheck } from '../views/attestation/model.js';
import type { TrustState } from '../trust/trust-state.js';

/** How often the clock ticks: the finest unit an age is shown in. */
export const TICK_MS = 1000;

/** What the clock needs from the platform (injectable for tests). */
export interface Timers {
  readonly now: () => number;
  readonly setInterval: (fn: () => void, ms: number) => unknown;
  readonly clearInterval: (timer: unknown) => void;
}

const SYSTEM: Timers = {
  now: () => Date.now(),
  setInterval: (fn, ms) => {
    const timer = setInterval(fn, ms);
    // Never what keeps a process alive.
    timer.unref?.();
    return timer;
  },
  clearInterval: (timer) => clearInterval(timer as ReturnType<typeof setInterval>),
};

export type TickListener = (now: number) => void;

export class Clock {
  readonly #listeners = new Set<TickListener>();
  readonly #timers: Timers;
  #timer: unknown;
  #now: number;

  constructor(timers: Timers = SYSTEM) {
    this.#timers = timers;
    this.#now = timers.now();
  }

  /** The time of the last tick, or now when nobody listens (what every surface renders an age against). */
  now(): number {
    if (this.#timer === undefined) this.#now = this.#timers.now();
    return this.#now;
  }

  /** Calls `listener` on every tick until the returned function is called. */
  subscribe(listener: TickListener): () => void {
    this.#listeners.add(listener);
    if (this.#timer === undefined) {
      this.#now = this.#timers.now();
      this.#timer = this.#timers.setInterval(() => this.#tick(), TICK_MS);
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && this.#timer !== undefined) {
        this.#timers.clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  dispose(): void {
    this.#listeners.clear();
    if (this.#timer !== undefined) this.#timers.clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#now = this.#timers.now();
    for (const listener of [...this.#listeners]) listener(this.#now);
  }
}

/** The times whose ages the surfaces show for `state` (and the last receipt check): what makes them change. */
export function shownTimes(state: TrustState, receipt: ReceiptCheck | undefined): number[] {
  const times = receipt ? [receipt.checkedAt] : [];
  if (state.kind === 'verified') times.push(...state.enclaves.map((e) => e.attestation.verifiedAt));
  if (state.kind === 'failed') times.push(state.at);
  return times;
}

/** The ages of `times` at `now` as shown ("12 s", "3 min"): the surfaces need rendering again only when this changes. */
export function shownAges(times: readonly number[], now: number): string {
  return times.map((t) => formatDuration(now - t)).join('|');
}
