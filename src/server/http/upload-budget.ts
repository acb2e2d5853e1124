/**
 * The storage uploads may take: every upload is a file in the temporary directory (in an enclave that is RAM), so what
 * cannot be stored is refused before it is accepted, not found out by a full filesystem halfway through.
 *
 * An upload reserves its declared length (Content-Length) when it is admitted, or grows its reservation as its bytes
 * arrive when it declared none (chunked). A reservation fits when it stays within the configured budget and within the
 * space the filesystem really has, less a reserve for everything else that needs it (the engine, other files) and less
 * what is promised to running uploads but not written yet.
 */
import { statfs } from 'node:fs/promises';
import { HttpError } from './respond.js';

/** Bytes on the upload directory's filesystem. */
export interface StorageSpace {
  /** Free to this process now. */
  readonly available: number;
  /** The filesystem's whole size. */
  readonly size: number;
}

/** Measures the space where uploads are written. */
export type SpaceProbe = () => Promise<StorageSpace>;

/** The space of the filesystem holding `dir`, by `statfs`. */
export function directorySpace(dir: string): SpaceProbe {
  return async () => {
    const s = await statfs(dir);
    return { available: s.bavail * s.bsize, size: s.blocks * s.bsize };
  };
}

const MiB = 1024 * 1024;

/** Kept free for everything but uploads: a tenth of the filesystem, at least 8 MiB and at most 256 MiB. */
export function storageReserve(size: number): number {
  return Math.min(256 * MiB, Math.max(8 * MiB, Math.floor(size / 10)));
}

/** A reservation grows by at least this much at a time (an upload without a declared length). */
const GROWTH_STEP = MiB;

/** Whether an error is the filesystem being full (or over quota): the server's lack of room, not the client's fault. */
export function isStorageFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The answer to an upload that cannot be stored now: retrying later may work. */
export function insufficientStorage(retryAfterSeconds: number): HttpError {
  return HttpError.of('INSUFFICIENT_STORAGE', undefined, { retryAfterSeconds });
}

/** Storage promised to one upload; `release` once its file is deleted. */
export interface StorageReservation {
  /** Bytes reserved now. */
  readonly reserved: number;
  /**
   * Counts `bytes` more as arrived, growing the reservation when they pass it; false (nothing counted) when they
   * cannot be stored.
   */
  use(bytes: number): boolean;
  /** Gives the reservation back; call after the upload's file is deleted. */
  release(): void;
}

export class UploadBudget {
  readonly #probe: SpaceProbe;
  /** The configured most bytes of uploads at once, if any. */
  readonly #budget: number | undefined;
  readonly #live = new Set<{ reserved: number; used: number }>();
  /** The last probe, and the bytes live uploads had used when it ran (what they write later comes off it). */
  #space: StorageSpace = { available: 0, size: 0 };
  #usedAtProbe = 0;

  constructor(probe: SpaceProbe, budgetBytes?: number) {
    this.#probe = probe;
    this.#budget = budgetBytes;
  }

  /** Measures the filesystem again; `reserve` decides against this measure. */
  async refresh(): Promise<void> {
    const space = await this.#probe();
    this.#space = space;
    this.#usedAtProbe = this.#sum('used');
  }

  /** The most one upload could ever be given, with nothing else stored. */
  get capacity(): number {
    const filesystem = Math.max(0, this.#space.size - storageReserve(this.#space.size));
    return this.#budget === undefined ? filesystem : Math.min(this.#budget, filesystem);
  }

  /** Bytes that a new reservation may take now. */
  get room(): number {
    const written = this.#sum('used') - this.#usedAtProbe;
    const outstanding = this.#sum('reserved') - this.#sum('used');
    const free = this.#space.available - written - storageReserve(this.#space.size) - outstanding;
    return Math.max(0, this.#budget === undefined ? free : Math.min(free, this.#budget - this.#sum('reserved')));
  }

  /** Reserves `bytes` (the declared length; 0 when none was declared), or undefined when they do not fit now. */
  reserve(bytes: number): StorageReservation | undefined {
    if (bytes > this.room) return undefined;
    const entry = { reserved: bytes, used: 0 };
    this.#live.add(entry);
    return {
      get reserved() {
        return entry.reserved;
      },
      use: (more) => {
        if (entry.used + more > entry.reserved) {
          const growth = Math.max(GROWTH_STEP, entry.used + more - entry.reserved);
          if (growth > this.room) return false;
          entry.reserved += growth;
        }
        entry.used += more;
        return true;
      },
      release: () => {
        this.#live.delete(entry);
      },
    };
  }

  /** Bytes reserved by uploads now. */
  reserved(): number {
    return this.#sum('reserved');
  }

  #sum(key: 'reserved' | 'used'): number {
    let total = 0;
    for (const entry of this.#live) total += entry[key];
    return total;
  }
}
