/**
 * Deterministic mutation fuzzing of `verifyAttestation` on the real Nitro documents: every mutant must be
 * rejected, and only ever with an `AttestationError` — never a TypeError, a RangeError or a hang. Random
 * byte-level mutants first, then structure-aware ones that retype the payload's fields.
 *
 * Mutant `i` depends only on the seed and `i`, so a failure reported as "seed S, mutant #i" reproduces alone;
 * FUZZ_SEED=<seed> runs another seed.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { it, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { decodeStrict } from '../../../src/core/attestation/cbor.js';
import { parseCoseSign1 } from '../../../src/core/attestation/cose.js';
import { cborEncoder } from '../../../src/shared/cbor.js';
import { MAX_DOCUMENT_BYTES } from '../../../src/protocol/limits.js';
import { encodeCoseSign1 } from '../../../src/server/attestation/cose-sign1.js';
import { AttestationError, verifyAttestation } from '../../../src/core/index.js';
import { loadRealDocuments, type RealDocument } from '../../../support/fixtures.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_b10c) >>> 0;
const MUTANTS = 3000;
/** Every check is linear in a document of a few KiB: a call this slow is a hang. */
const SLOW_MS = 2000;
/** Mutants must get past each stage, or the fuzz only exercises the CBOR walk. */
const CODES_REACHED = ['MALFORMED_CBOR', 'MALFORMED_PAYLOAD', 'SIGNATURE_INVALID'];

/** mulberry32: a tiny, well-mixed 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

class Random {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Uint8Array {
    return Uint8Array.from({ length: n }, () => this.int(256));
  }
  /** A length in [1, max], mostly short but sometimes long enough to cover a whole field or certificate. */
  length(max: number): number {
    return 1 + this.int(Math.min(max, this.pick([4, 32, 1024])));
  }
}

interface Mutant {
  readonly description: string;
  readonly bytes: Uint8Array;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const concat = (...parts: Uint8Array[]) => Uint8Array.from(Buffer.concat(parts));

/** Each mutation takes the document, a PRNG and the other documents (for splicing). */
const MUTATIONS: readonly ((doc: Uint8Array, r: Random, others: readonly Uint8Array[]) => Mutant)[] = [
  function flipBit(doc, r) {
    const at = r.int(doc.length);
    const bit = r.int(8);
    const bytes = Uint8Array.from(doc);
    bytes[at]! ^= 1 << bit;
    return { description: `flip bit ${bit} of byte ${at}`, bytes };
  },
  function replaceByte(doc, r) {
    const at = r.int(doc.length);
    const bytes = Uint8Array.from(doc);
    bytes[at] = r.int(256);
    return { description: `set byte ${at} to 0x${hex(bytes.subarray(at, at + 1))}`, bytes };
  },
  // Off by one (AFL's arithmetic step): keeps text keys printable and lengths plausible, so mutants reach the payload checks.
  function nudgeByte(doc, r) {
    const at = r.int(doc.length);
    const bytes = Uint8Array.from(doc);
    const delta = r.pick([1, -1]);
    bytes[at] = (bytes[at]! + delta) & 0xff;
    return { description: `add ${delta} to byte ${at}`, bytes };
  },
  function insert(doc, r) {
    const at = r.int(doc.length + 1);
    const inserted = r.bytes(r.length(16));
    return { description: `insert ${hex(inserted)} at ${at}`, bytes: concat(doc.subarray(0, at), inserted, doc.subarray(at)) };
  },
  function remove(doc, r) {
    const at = r.int(doc.length);
    const n = r.length(doc.length - at);
    return { description: `delete ${n} bytes at ${at}`, bytes: concat(doc.subarray(0, at), doc.subarray(at + n)) };
  },
  function truncate(doc, r) {
    const n = r.int(doc.length);
    return { description: `truncate to ${n} bytes`, bytes: doc.slice(0, n) };
  },
  function duplicate(doc, r) {
    const from = r.int(doc.length);
    const n = r.length(doc.length - from);
    const at = r.int(doc.length + 1);
    const slice = doc.subarray(from, from + n);
    return { description: `copy ${n} bytes from ${from} to ${at}`, bytes: concat(doc.subarray(0, at), slice, doc.subarray(at)) };
  },
  function splice(doc, r, others) {
    const other = r.pick(others);
    const at = r.int(doc.length);
    const n = r.length(Math.min(doc.length - at, other.length));
    // Half the time from the same offset: the documents share a layout, so whole fields get swapped.
    const from = r.int(2) === 0 && at + n <= other.length ? at : r.int(other.length - n + 1);
    const bytes = Uint8Array.from(doc);
    bytes.set(other.subarray(from, from + n), at);
    return { description: `overwrite ${n} bytes at ${at} with another document's bytes from ${from}`, bytes };
  },
];

/** What one mutant did; `problem` is set when it broke the contract. */
interface Outcome {
  readonly code?: string;
  readonly problem?: string;
}

/** The error and where in src/ it was thrown, without the test runner's frames. */
const firstLines = (stack: string) => stack.split('\n').slice(0, 4).join('\n');

function verifyMutant(bytes: Uint8Array, doc: RealDocument): Outcome {
  const start = performance.now();
  let outcome: Outcome;
  try {
    verifyAttestation(bytes, { now: new Date(doc.timestampMs) });
    outcome = { problem: 'it verified' };
  } catch (err) {
    outcome = err instanceof AttestationError ? { code: err.code } : { problem: `it threw ${firstLines((err as Error)?.stack ?? String(err))}` };
  }
  const ms = performance.now() - start;
  return ms > SLOW_MS && !outcome.problem ? { problem: `it took ${Math.round(ms)} ms (${outcome.code})` } : outcome;
}

/** Verifies mutants, counting rejections per code and keeping every contract breach with what reproduces it. */
class Tally {
  readonly counts = new Map<string, number>();
  readonly failures: string[] = [];
  skipped = 0;

  check(bytes: Uint8Array, doc: RealDocument, label: string): void {
    const { code, problem } = verifyMutant(bytes, doc);
    if (problem) this.failures.push(`${label}: ${problem}`);
    else this.counts.set(code!, (this.counts.get(code!) ?? 0) + 1);
  }

  report(t: TestContext): void {
    const checked = [...this.counts.values()].reduce((a, b) => a + b, 0) + this.failures.length;
    t.diagnostic(`${checked} mutants checked (${this.skipped} identical to their document skipped), ${this.failures.length} failures`);
    for (const [code, n] of [...this.counts].sort((a, b) => b[1] - a[1])) t.diagnostic(`${code}: ${n}`);
    assert.equal(this.failures.length, 0, `${this.failures.length} mutants broke the contract:\n${this.failures.slice(0, 10).join('\n\n')}`);
  }
}

const docs = loadRealDocuments();

it(`verifyAttestation rejects ${MUTANTS} random mutants of the real documents with AttestationError only (seed 0x${SEED.toString(16)})`, { timeout: 120_000 }, (t) => {
  const tally = new Tally();
  for (let i = 0; i < MUTANTS; i++) {
    const doc = docs[i % docs.length]!;
    const r = new Random((SEED + Math.imul(i, 0x9e3779b9)) >>> 0);
    const others = docs.filter((d) => d !== doc).map((d) => d.bytes);
    const mutant = r.pick(MUTATIONS)(doc.bytes, r, others);
    if (Buffer.from(mutant.bytes).equals(doc.bytes)) tally.skipped++;
    else tally.check(mutant.bytes, doc, `seed 0x${SEED.toString(16)}, mutant #${i} of ${doc.name} (${mutant.description})`);
  }
  tally.report(t);
  for (const code of CODES_REACHED) assert.ok(tally.counts.has(code), `no mutant was rejected with ${code}: the fuzz does not reach that stage`);
});

/**
 * Values of each kind the strict CBOR walk lets through. cbor-x decodes 8-byte integers as bigint, a type
 * random byte mutations almost never produce inside a signed payload, yet any sender can.
 */
const RETYPED_VALUES: readonly unknown[] = [
  null, false, 0, -1, 1n, -1n, '', 'SHA384', new Uint8Array(0), new Uint8Array(1025),
  [], [new Uint8Array(1)], new Map(), new Map([[1n, new Uint8Array(48)]]), new Map([[0, 1n]]),
];
/** Keys outside the Nitro format, of each key type the walk accepts. */
const EXTRA_KEYS: readonly unknown[] = ['extra', 1, -1, 1n, -1n, new Uint8Array(1)];

const show = (value: unknown) => inspect(value, { depth: 2, maxArrayLength: 4, breakLength: Infinity });

/** Every payload field given a value of every type, and keys of every type added; the original signature is kept. */
function* retypedPayloads(payload: Map<unknown, unknown>): Generator<[description: string, payload: Map<unknown, unknown>]> {
  const withEntry = (key: unknown, value: unknown) => new Map(payload).set(key, value);
  for (const key of payload.keys()) for (const value of RETYPED_VALUES) yield [`${show(key)} = ${show(value)}`, withEntry(key, value)];
  for (const key of EXTRA_KEYS) yield [`extra key ${show(key)}`, withEntry(key, 0)];
}

it('verifyAttestation rejects payloads with fields of every CBOR type with AttestationError only', (t) => {
  const tally = new Tally();
  for (const doc of docs) {
    const cose = parseCoseSign1(doc.bytes);
    const payload = decodeStrict(cose.payload, { maxBytes: MAX_DOCUMENT_BYTES, maxDepth: 3 }, 'payload') as Map<unknown, unknown>;
    for (const [description, retyped] of retypedPayloads(payload)) {
      const encoded = cborEncoder.encode(retyped);
      if (Buffer.from(encoded).equals(cose.payload)) {
        tally.skipped++;
        continue;
      }
      const bytes = encodeCoseSign1({ protectedHeader: cose.protectedHeader, payload: encoded, signature: cose.signature });
      tally.check(bytes, doc, `${doc.name} with payload ${description}`);
    }
  }
  tally.report(t);
});
