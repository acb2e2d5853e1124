/**
 * A bounded hostile load on a BlindBox server, shared by the hostile-load test and its benchmark: a few concurrent
 * attackers, each cycling through the attacks below over raw TLS sockets until the deadline. Every attack ends by
 * itself (the server closes it, or the attacker gives up after `ATTACK_CAP_MS`). Loopback only.
 */
import type { TLSSocket } from 'node:tls';
import { drained, filePartHead, multipartBody, openTcp, openTls, readAnswer, uploadHead, type RawAnswer } from './raw-client.js';

/** Attacks that are over in a moment: made again and again. */
const QUICK = ['malformed-target', 'broken-chunk', 'early-disconnect', 'aborted-upload', 'oversized-headers', 'wav-chunk-bomb'] as const;
/** Attacks that hold a connection (or a slot) as long as the server lets them. */
const HOLDING = ['slowloris-headers', 'slowloris-body', 'idle-handshake'] as const;
/** Attacks on upload admission, each with its own attackers: storage held by stalled uploads, slots by slow ones. */
const ADMISSION = ['storage-filler', 'slow-upload'] as const;
/** What an attacker can do. */
const ATTACKS = [...QUICK, ...HOLDING, ...ADMISSION] as const;
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

async function attack(url: string, kind: Attack, going: () => boolean): Promise<void> {
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
        s.write(uploadHead('/v1/audio/transcriptions', { contentLength: BOMB.length }));
        s.write(BOMB);
        await readAnswer(s, 20_000);
        return;
    }
  } catch {
    // A refused or reset connection is the server defending itself: the attacker moves on.
  } finally {
    clearTimeout(cap);
    socket?.destroy();
  }
}

/**
 * A storage filler: declares `bytes` of file, sends all but the last KiB as fast as the server takes it, then a byte
 * every 5 s (inside the idle timeout), until the server answers or `going()` turns false.
 */
export async function storageFiller(url: string, bytes: number, going: () => boolean): Promise<RawAnswer | undefined> {
  const socket = await openTls(url);
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
 * attacks (attacker `i` starting at the `i`-th, so that all run at once), and `holders` per holding attack repeat it.
 */
export async function hostileLoad(options: HostileLoadOptions): Promise<AttackCounts> {
  const until = Date.now() + options.durationMs;
  const going = () => Date.now() < until && !options.signal?.aborted;
  const counts = Object.fromEntries(ATTACKS.map((a) => [a, 0])) as AttackCounts;
  const run = async (kinds: readonly Attack[], first: number) => {
    for (let n = first; going(); n++) {
      const kind = kinds[n % kinds.length]!;
      counts[kind]++;
      await attack(options.url, kind, going);
    }
  };
  const quick = Array.from({ length: options.attackers ?? 4 }, (_, i) => run(QUICK, i));
  const holding = HOLDING.flatMap((kind) => Array.from({ length: options.holders ?? 2 }, () => run([kind], 0)));
  const repeat = async (kind: Attack, once: () => Promise<unknown>) => {
    while (going()) {
      counts[kind]++;
      await once().catch(() => undefined);
    }
  };
  const fillerBytes = options.fillerBytes ?? 32 * 1024 * 1024 - 32 * 1024;
  const fillers = Array.from({ length: options.fillers ?? 2 }, () => repeat('storage-filler', () => storageFiller(options.url, fillerBytes, going)));
  const slow = Array.from({ length: options.slowUploaders ?? 8 }, (_, i) =>
    repeat('slow-upload', () => slowUpload(options.url, { bytes: 4 * 1024 * 1024, bytesPerSecond: 9 * 1024, localAddress: `127.0.1.${i + 1}`, going })),
  );
  await Promise.all([...quick, ...holding, ...fillers, ...slow]);
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
