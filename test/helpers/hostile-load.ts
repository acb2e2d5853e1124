/**
 * A bounded hostile load on a BlindBox server, shared by the hostile-load test and its benchmark: a few concurrent
 * attackers, each cycling through the attacks below over raw TLS sockets until the deadline. Every attack ends by
 * itself (the server closes it, or the attacker gives up after `ATTACK_CAP_MS`). Loopback only.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { chainedOpus, RATE_BOMB, silentFlac } from './decoder-bombs.js';
import { filePartHead, multipartBody, openTcp, openTls, readAnswer, uploadHead } from './raw-client.js';

/** Attacks that are over in a moment: made again and again. */
const QUICK = ['malformed-target', 'broken-chunk', 'early-disconnect', 'aborted-upload', 'oversized-headers', 'wav-chunk-bomb', 'flac-rate-bomb', 'chained-opus'] as const;
/** Attacks that hold a connection (or a slot) as long as the server lets them. */
const HOLDING = ['slowloris-headers', 'slowloris-body', 'idle-handshake'] as const;
/** What an attacker can do. */
const ATTACKS = [...QUICK, ...HOLDING] as const;
type Attack = (typeof ATTACKS)[number];

export interface HostileLoadOptions {
  readonly url: string;
  /** The load stops after this long, or when `signal` aborts, whichever comes first. */
  readonly durationMs: number;
  readonly signal?: AbortSignal;
  /** Attackers cycling through the quick attacks (default 4). */
  readonly attackers?: number;
  /** Attackers per holding attack, each repeating it as soon as the server ends it (default 2). */
  readonly holders?: number;
}

/** How many of each attack were made. */
export type AttackCounts = Record<Attack, number>;

/** No single attack lasts longer than this. */
const ATTACK_CAP_MS = 25_000;
const TARGETS = ['//[', 'http://[/', '//%/', 'https://%zz/', '//a:b/', 'https://x:99999/', 'http://a:b@/'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 2 MiB WAV whose header is 8-byte `junk` chunks before any `fmt `/`data`: a probe that walks it chunk by chunk crawls. */
export function wavChunkBomb(bytes = 2 * 1024 * 1024): Buffer {
  const file = Buffer.alloc(bytes);
  file.write('RIFF', 0, 'latin1');
  file.writeUInt32LE(bytes - 8, 4);
  file.write('WAVE', 8, 'latin1');
  for (let at = 12; at + 8 <= bytes; at += 8) file.write('junk', at, 'latin1'); // each chunk: id + length 0
  return file;
}

const BOMB = multipartBody(wavChunkBomb(), 'file', 'bomb.wav');

/** Decoder amplifiers an attacker uploads whole (`decoder-bombs.ts`), as multipart bodies. */
type Amplifier = 'flac-rate-bomb' | 'chained-opus';

/** A minute of 8-channel 655,350 Hz FLAC silence, and 1 s of mono Opus chained to 1 s of 255 channels. */
async function makeAmplifiers(): Promise<Record<Amplifier, Buffer>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-amplifiers-'));
  try {
    const [flac, opus] = await Promise.all([silentFlac(dir, 'rate-bomb', RATE_BOMB), chainedOpus(dir, 255, 1)]);
    return { 'flac-rate-bomb': multipartBody(await readFile(flac), 'file', 'bomb.flac'), 'chained-opus': multipartBody(await readFile(opus), 'file', 'chained.opus') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Uploads a whole multipart `body` and waits for the answer. */
async function uploadWhole(s: TLSSocket, body: Buffer): Promise<void> {
  s.write(uploadHead('/v1/audio/transcriptions', { contentLength: body.length }));
  s.write(body);
  await readAnswer(s, 20_000);
}

async function attack(url: string, kind: Attack, going: () => boolean, amplifiers: Record<Amplifier, Buffer>): Promise<void> {
  let socket: TLSSocket | undefined;
  const cap = setTimeout(() => socket?.destroy(), ATTACK_CAP_MS);
  try {
    if (kind === 'idle-handshake') {
      const tcp = await openTcp(url);
      tcp.on('error', () => {}).resume();
      await new Promise((r) => tcp.once('close', r).setTimeout(ATTACK_CAP_MS, () => tcp.destroy()));
      return;
    }
    socket = await openTls(url);
    socket.on('error', () => {});
    const s = socket;
    switch (kind) {
      case 'malformed-target':
        s.write(`GET ${TARGETS[Math.floor(Math.random() * TARGETS.length)]} HTTP/1.1\r\nhost: e\r\n\r\n`);
        await readAnswer(s, 5_000);
        return;
      case 'broken-chunk':
        s.write(uploadHead('/v1/audio/transcriptions', { chunked: true }) + 'zz\r\n');
        await sleep(20);
        return;
      case 'early-disconnect':
        s.write(uploadHead('/whisper/predict', { contentLength: 50_000 }));
        await sleep(20);
        return;
      case 'aborted-upload':
        s.write(uploadHead('/v1/audio/transcriptions', { contentLength: 4 * 1024 * 1024 }) + filePartHead());
        s.write(Buffer.alloc(512 * 1024, 7));
        await sleep(50);
        return;
      case 'slowloris-headers': {
        s.write('GET /healthz HTTP/1.1\r\nhost: e\r\n');
        for (let i = 0; !s.destroyed && going(); i++) {
          s.write(`x-slow-${i}: 1\r\n`);
          await sleep(1_000);
        }
        return;
      }
      case 'slowloris-body': {
        s.write(uploadHead('/v1/audio/transcriptions', { contentLength: 1024 * 1024 }) + filePartHead());
        const answered = readAnswer(s, ATTACK_CAP_MS);
        while (!s.destroyed && going()) {
          s.write(Buffer.alloc(16, 1));
          await sleep(500);
        }
        await answered;
        return;
      }
      case 'oversized-headers':
        s.write(`GET /healthz HTTP/1.1\r\nhost: e\r\nx-big: ${'b'.repeat(40_000)}\r\n\r\n`);
        await readAnswer(s, 5_000);
        return;
      case 'wav-chunk-bomb':
        return await uploadWhole(s, BOMB);
      case 'flac-rate-bomb':
      case 'chained-opus':
        return await uploadWhole(s, amplifiers[kind]);
    }
  } catch {
    // A refused or reset connection is the server defending itself: the attacker moves on.
  } finally {
    clearTimeout(cap);
    socket?.destroy();
  }
}

/**
 * Runs the attackers until the load stops and every attack in flight has ended: `attackers` cycle through the quick
 * attacks (attacker `i` starting at the `i`-th, so that all run at once), and `holders` per holding attack repeat it.
 */
export async function hostileLoad(options: HostileLoadOptions): Promise<AttackCounts> {
  const amplifiers = await makeAmplifiers();
  const until = Date.now() + options.durationMs;
  const going = () => Date.now() < until && !options.signal?.aborted;
  const counts = Object.fromEntries(ATTACKS.map((a) => [a, 0])) as AttackCounts;
  const run = async (kinds: readonly Attack[], first: number) => {
    for (let n = first; going(); n++) {
      const kind = kinds[n % kinds.length]!;
      counts[kind]++;
      await attack(options.url, kind, going, amplifiers);
    }
  };
  const quick = Array.from({ length: options.attackers ?? 4 }, (_, i) => run(QUICK, i));
  const holding = HOLDING.flatMap((kind) => Array.from({ length: options.holders ?? 2 }, () => run([kind], 0)));
  await Promise.all([...quick, ...holding]);
  return counts;
}
