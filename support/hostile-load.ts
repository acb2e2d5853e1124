/**
 * A bounded hostile load on a BlindBox server, shared by the hostile-load test and its benchmark: a few concurrent
 * attackers, each cycling through the attacks below over raw TLS sockets until the deadline, and crowds: idle
 * connections from 8 loopback addresses filling the server's connection cap, and an attestation flood from another. Every attack ends by
 * itself (the server closes it, or the attacker gives up after `ATTACK_CAP_MS`). Loopback only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { chainedOpus, RATE_BOMB, silentFlac } from './decoder-bombs.js';
import { drained, errorCode, filePartHead, multipartBody, openTcp, openTls, readAnswer, uploadHead, type RawAnswer } from './raw-client.js';

/** Attacks that are over in a moment: made again and again. */
const QUICK = ['malformed-target', 'broken-chunk', 'early-disconnect', 'aborted-upload', 'oversized-headers', 'wav-chunk-bomb', 'flac-rate-bomb', 'chained-opus'] as const;
/** Attacks that hold a connection (or a slot) as long as the server lets them. */
const HOLDING = ['slowloris-headers', 'slowloris-body', 'idle-handshake'] as const;
/** Attacks on upload admission, each with its own attackers: storage held by stalled uploads, slots by slow ones. */
const ADMISSION = ['storage-filler', 'slow-upload'] as const;
/** Attacks that run as one crowd for the whole load, each counted as a whole (see CROWDS). */
const CROWD = ['idle-connection-fill', 'attestation-flood'] as const;
/** What an attacker can do. */
const ATTACKS = [...QUICK, ...HOLDING, ...ADMISSION, ...CROWD] as const;
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
  /** Storage fillers, each uploading `fillerBytes` at full speed, then a byte every few seconds (default 2). */
  readonly fillers?: number;
  /** What a storage filler uploads before it stalls (default 32 MiB less 32 KiB: two fill a 64 MiB upload budget). */
  readonly fillerBytes?: number;
  /** Slow uploaders, each from its own loopback address at 9 KiB/s (default 8: every slot of a default server). */
  readonly slowUploaders?: number;
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

async function attack(url: string, kind: Attack, going: () => boolean, amplifiers: Record<Amplifier, Buffer>, localAddress: string): Promise<void> {
  let socket: TLSSocket | undefined;
  const cap = setTimeout(() => socket?.destroy(), ATTACK_CAP_MS);
  try {
    if (kind === 'idle-handshake') {
      const tcp = await openTcp(url, localAddress);
      tcp.on('error', () => {}).resume();
      await new Promise((r) => tcp.once('close', r).setTimeout(ATTACK_CAP_MS, () => tcp.destroy()));
      return;
    }
    socket = await openTls(url, { localAddress });
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

/** The loopback addresses an attacker spreads its connections over, each one under the host proxy's per-source cap. */
export const ATTACKER_SOURCES: readonly string[] = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 2}`);

export interface IdleFillOptions {
  readonly url: string;
  /** Ends the fill: every held connection is closed. */
  readonly signal: AbortSignal;
  /** Source addresses (default ATTACKER_SOURCES). */
  readonly sources?: readonly string[];
  /** Connections held per source (default 32, the host proxy's per-source cap). */
  readonly perSource?: number;
  /** `tcp`: connections that never send a byte; `tls`: connections that finish the handshake and send no request. */
  readonly kind: 'tcp' | 'tls';
}

/**
 * The idle-connection fill: `perSource` connections from each source address, each doing nothing, reopened as soon
 * as the server closes it, until `signal` aborts. Resolves with how many connections were opened in all.
 */
export async function idleConnectionFill(options: IdleFillOptions): Promise<number> {
  let opened = 0;
  const held = new Set<Socket>();
  const closeAll = () => held.forEach((s) => s.destroy());
  options.signal.addEventListener('abort', closeAll, { once: true });
  const hold = async (localAddress: string) => {
    while (!options.signal.aborted) {
      try {
        const socket = options.kind === 'tcp' ? await openTcp(options.url, localAddress) : await openTls(options.url, { localAddress, timeoutMs: 5_000 });
        opened++;
        held.add(socket.on('error', () => {}).resume());
        if (options.signal.aborted) socket.destroy();
        await new Promise((r) => socket.once('close', r));
        held.delete(socket);
      } catch {
        // Refused or reset: try again in a moment.
      }
      await sleep(20);
    }
  };
  const sources = options.sources ?? ATTACKER_SOURCES;
  await Promise.all(sources.flatMap((source) => Array.from({ length: options.perSource ?? 32 }, () => hold(source))));
  return opened;
}

export interface AttestationFloodOptions {
  readonly url: string;
  /** Ends the flood (the requests in flight finish). */
  readonly signal: AbortSignal;
  /** The one source address every request comes from. */
  readonly source: string;
  /** Connections asking at once, each one request after another (default 32, the host proxy's per-source cap). */
  readonly connections?: number;
}

/** What an attestation flood got: documents signed, `429 ATTESTATION_RATE_LIMITED` answers (with `Retry-After`), anything else. */
export interface FloodCounts {
  signed: number;
  limited: number;
  other: number;
}

/** Asks for attestation documents from one source as fast as `connections` connections can, until `signal` aborts. */
export async function attestationFlood(options: AttestationFloodOptions): Promise<FloodCounts> {
  const counts: FloodCounts = { signed: 0, limited: 0, other: 0 };
  const ask = async () => {
    while (!options.signal.aborted) {
      try {
        const socket = await openTls(options.url, { localAddress: options.source, timeoutMs: 5_000 });
        socket.on('error', () => {});
        socket.write(`GET /attestation?nonce=${randomBytes(16).toString('hex')} HTTP/1.1\r\nhost: e\r\n\r\n`);
        const answer = await readAnswer(socket, 10_000);
        if (answer?.status === 200) counts.signed++;
        else if (answer?.status === 429 && errorCode(answer) === 'ATTESTATION_RATE_LIMITED' && Number(answer.headers['retry-after']) >= 1) counts.limited++;
        else counts.other++;
      } catch {
        counts.other++;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections ?? 32 }, ask));
  return counts;
}

/** The source of the attestation flood: none of ATTACKER_SOURCES, nor the legitimate client's 127.0.0.1. */
const FLOOD_SOURCE = '127.0.0.10';

/** Each crowd attack, run until `signal` aborts; resolves with how many connections (or requests) it made. */
const CROWDS: Record<(typeof CROWD)[number], (url: string, signal: AbortSignal) => Promise<number>> = {
  'idle-connection-fill': (url, signal) => idleConnectionFill({ url, signal, kind: 'tcp' }),
  'attestation-flood': async (url, signal) => {
    // 8 connections ask far faster than the per-source rate; 32 would mostly add TLS handshakes, which cost the same
    // from any source and are not what this attack is about.
    const { signed, limited, other } = await attestationFlood({ url, signal, source: FLOOD_SOURCE, connections: 8 });
    return signed + limited + other;
  },
};

/**
 * A storage filler from `localAddress`: declares `bytes` of file, sends all but the last KiB as fast as the server
 * takes it, then a byte every 5 s (inside the idle timeout), until the server answers or `going()` turns false.
 */
export async function storageFiller(url: string, bytes: number, going: () => boolean, localAddress?: string): Promise<RawAnswer | undefined> {
  const socket = await openTls(url, { localAddress });
  socket.on('error', () => {});
  try {
    const head = filePartHead();
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: head.length + bytes }) + head);
    let answered = false;
    const answer = readAnswer(socket, ATTACK_CAP_MS * 100).finally(() => (answered = true));
    const piece = Buffer.alloc(256 * 1024, 0x46);
    for (let sent = 0; !answered && going() && sent + piece.length < bytes - 1024; sent += piece.length) {
      if (!socket.write(piece)) await drained(socket);
    }
    for (let waited = 0; !answered && going(); waited += 250) {
      if (waited % 5_000 === 0) socket.write('F');
      await sleep(250);
    }
    if (!answered) socket.destroy();
    return await answer;
  } finally {
    socket.destroy();
  }
}

/**
 * Runs the attackers until the load stops and every attack in flight has ended: `attackers` cycle through the quick
 * attacks (attacker `i` starting at the `i`-th, so that all run at once), `holders` per holding attack repeat it, and
 * each crowd attack runs throughout. Each attacker has a loopback address of its own, never 127.0.0.1 (the legitimate
 * client's): the server shares its slots between source addresses, and would count a client sharing an attacker's
 * address as that attacker.
 */
export async function hostileLoad(options: HostileLoadOptions): Promise<AttackCounts> {
  const amplifiers = await makeAmplifiers();
  const until = Date.now() + options.durationMs;
  const going = () => Date.now() < until && !options.signal?.aborted;
  const counts = Object.fromEntries(ATTACKS.map((a) => [a, 0])) as AttackCounts;
  const run = async (kinds: readonly Attack[], first: number, localAddress: string) => {
    for (let n = first; going(); n++) {
      const kind = kinds[n % kinds.length]!;
      counts[kind]++;
      await attack(options.url, kind, going, amplifiers, localAddress);
    }
  };
  const quick = Array.from({ length: options.attackers ?? 4 }, (_, i) => run(QUICK, i, `127.0.2.${i + 1}`));
  const holders = options.holders ?? 2;
  const holding = HOLDING.flatMap((kind, k) => Array.from({ length: holders }, (_, i) => run([kind], 0, `127.0.3.${k * holders + i + 1}`)));
  const repeat = async (kind: Attack, once: () => Promise<unknown>) => {
    while (going()) {
      counts[kind]++;
      await once().catch(() => undefined);
    }
  };
  const fillerBytes = options.fillerBytes ?? 32 * 1024 * 1024 - 32 * 1024;
  const fillers = Array.from({ length: options.fillers ?? 2 }, (_, i) => repeat('storage-filler', () => storageFiller(options.url, fillerBytes, going, `127.0.4.${i + 1}`)));
  const slow = Array.from({ length: options.slowUploaders ?? 8 }, (_, i) =>
    repeat('slow-upload', () => slowUpload(options.url, { bytes: 4 * 1024 * 1024, bytesPerSecond: 9 * 1024, localAddress: `127.0.1.${i + 1}`, going })),
  );
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), options.durationMs);
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const crowds = CROWD.map(async (kind) => (counts[kind] = await CROWDS[kind](options.url, stop.signal)));
  await Promise.all([...quick, ...holding, ...fillers, ...slow]);
  stop.abort();
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  await Promise.all(crowds);
  return counts;
}

/**
 * A slow-upload slot holder: declares `bytes` of file and sends them at `bytesPerSecond` (above the server's base
 * pace, so only contention can cut it) from `localAddress`, until the server answers, `going()` turns false or the
 * whole file is sent. Resolves with the server's answer, if any.
 */
export async function slowUpload(url: string, options: { bytes: number; bytesPerSecond: number; localAddress?: string; going: () => boolean }): Promise<RawAnswer | undefined> {
  const socket = await openTls(url, { localAddress: options.localAddress });
  socket.on('error', () => {});
  try {
    const head = filePartHead();
    socket.write(uploadHead('/v1/audio/transcriptions', { contentLength: head.length + options.bytes }) + head);
    let answered = false;
    const answer = readAnswer(socket, ATTACK_CAP_MS * 100).finally(() => (answered = true));
    const tick = 250;
    const piece = Buffer.alloc(Math.ceil((options.bytesPerSecond * tick) / 1000), 0x53);
    for (let sent = 0; !answered && !socket.destroyed && options.going() && sent + piece.length < options.bytes; sent += piece.length) {
      socket.write(piece);
      await sleep(tick);
    }
    if (!answered) socket.destroy();
    return await answer;
  } finally {
    socket.destroy();
  }
}
