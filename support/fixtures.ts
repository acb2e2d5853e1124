/** The real Nitro material copied from ../shared/nitro, with the facts its provenance notes state. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** test/fixtures/nitro in the source tree (tests run from out/test/…). */
export const NITRO_DIR = fileURLToPath(new URL('../../test/fixtures/nitro/', import.meta.url));

export interface RealDocument {
  readonly name: string;
  readonly bytes: Buffer;
  readonly timestampMs: number;
  /** PCRs listed in the provenance note (index → hex). */
  readonly pcrs: Record<number, string>;
  /** The nonce as the note gives it: its length and (possibly truncated) hex. */
  readonly nonce: { readonly bytes: number; readonly hexPrefix: string } | null;
  readonly debugMode: boolean;
  readonly leafNotBefore: Date;
  readonly leafNotAfter: Date;
}

function field(text: string, name: string): string {
  const m = new RegExp(`^${name}: (.*)$`, 'm').exec(text);
  if (!m) throw new Error(`fixture note lacks ${name}`);
  return m[1]!;
}

/** openssl prints "Oct 12 16:49:54 2022 GMT". */
function opensslDate(text: string): Date {
  return new Date(text.replace(/\s+/g, ' ').replace(' GMT', ' UTC'));
}

function parseSized(text: string): { bytes: number; hexPrefix: string } {
  const m = /^(\d+) bytes: ([0-9a-f]+)/.exec(text);
  if (!m) throw new Error(`unexpected fixture field ${text}`);
  return { bytes: Number(m[1]), hexPrefix: m[2]! };
}

export function loadRealDocuments(): RealDocument[] {
  const names = readdirSync(NITRO_DIR).filter((f) => /^real_\d+\.cbor$/.test(f)).sort();
  return names.map((file) => {
    const name = file.replace('.cbor', '');
    const note = readFileSync(NITRO_DIR + name + '.txt', 'utf8');
    const pcrs: Record<number, string> = {};
    for (const m of note.matchAll(/^PCR(\d+): ([0-9a-f]+)$/gm)) pcrs[Number(m[1])] = m[2]!;
    const nonceLine = field(note, 'nonce');
    const leaf = field(note, 'leaf');
    const notBefore = /notBefore=([^|]+)\|/.exec(leaf)![1]!;
    const notAfter = /notAfter=(.+)$/.exec(leaf)![1]!;
    return {
      name,
      bytes: readFileSync(NITRO_DIR + file),
      timestampMs: Number(field(note, 'timestamp_ms')),
      pcrs,
      nonce: nonceLine === 'None' ? null : parseSized(nonceLine),
      debugMode: /^0+$/.test(pcrs[0]!),
      leafNotBefore: opensslDate(notBefore.trim()),
      leafNotAfter: opensslDate(notAfter.trim()),
    };
  });
}

export function loadNegativeDocuments(): { name: string; bytes: Buffer }[] {
  const dir = NITRO_DIR + 'negative/';
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cbor'))
    .sort()
    .map((f) => ({ name: f, bytes: readFileSync(dir + f) }));
}

export const ROOT_PEM_PATH = NITRO_DIR + 'aws_nitro_root_g1.pem';
