/**
 * A stand-in for whisper.cpp's HTTP server on 127.0.0.1, for tests and benches: it parses the multipart upload with
 * busboy, reads only a 16-bit PCM WAV (as whisper.cpp's server without ffmpeg), runs one request at a time (whisper.cpp
 * holds one global lock), optionally taking time in proportion to the audio, and answers `verbose_json` with a segment
 * per stretch of sound it finds (none for silence). As `1.7.6` it has that version's faults: a failure is answered
 * HTTP 200 `{"error":"…"}`, and a request that names no language gets the previous request's (English at first).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import busboy from 'busboy';

export type FakeWhisperVersion = '1.7.6' | '1.8.5';

export interface FakeWhisperOptions {
  readonly version: FakeWhisperVersion;
  /** Milliseconds of work per second of audio. Default 0. */
  readonly msPerAudioSecond?: number;
  /** What `language=auto` detects (whisper.cpp names it in English). Default `english`. */
  readonly detects?: string;
}

/** One request as the stand-in handled it. */
export interface FakeRequest {
  readonly fields: Readonly<Record<string, string>>;
  /** The WAV's format, when the file was one. */
  readonly wav?: { readonly rate: number; readonly channels: number; readonly bits: number; readonly samples: number };
  /** The language it transcribed in (a code, after `auto` was resolved). */
  readonly language: string;
}

/** What the next requests do instead of answering: an error answer, a dropped connection, or no answer at all. */
export type FakeFault = 'error' | 'drop' | 'hang';

export interface FakeWhisper {
  readonly url: URL;
  /** Requests handled, in order of arrival. */
  readonly requests: FakeRequest[];
  /** Requests whose headers arrived (counted before their body is read). */
  readonly started: () => number;
  /** Bytes of uploaded files received. */
  readonly audioBytes: () => number;
  /** Requests whose client went away before the answer. */
  readonly abandoned: () => number;
  /** The next `count` requests fail as `fault`. */
  fail(fault: FakeFault, count?: number): void;
  close(): Promise<void>;
}

const NAMES: Readonly<Record<string, string>> = { en: 'english', fr: 'french', de: 'german', pt: 'portuguese', es: 'spanish', no: 'norwegian', jw: 'javanese' };
/** The codes this stand-in knows; another is answered 500, as whisper.cpp 1.7.6 answers `en-US`. */
const CODES = new Set([...Object.keys(NAMES), 'auto']);

/** Stretches of sound in 16 kHz mono samples: 10 ms frames above a level, gaps under 0.3 s bridged. */
function soundStretches(pcm: Int16Array, rate: number): { start: number; end: number }[] {
  const frame = rate / 100;
  const stretches: { start: number; end: number }[] = [];
  for (let at = 0; at + frame <= pcm.length; at += frame) {
    let sum = 0;
    for (let i = at; i < at + frame; i++) sum += Math.abs(pcm[i]!);
    if (sum / frame < 300) continue;
    const [start, end] = [at / rate, (at + frame) / rate];
    const last = stretches.at(-1);
    if (last && start - last.end < 0.3) last.end = end;
    else stretches.push({ start, end });
  }
  return stretches;
}

function parseWav(bytes: Buffer): { rate: number; channels: number; bits: number; pcm: Int16Array } | undefined {
  if (bytes.length < 44 || bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') return undefined;
  const [format, channels, rate, bits] = [bytes.readUInt16LE(20), bytes.readUInt16LE(22), bytes.readUInt32LE(24), bytes.readUInt16LE(34)];
  if (format !== 1 || bits !== 16 || bytes.toString('ascii', 36, 40) !== 'data') return undefined;
  const data = bytes.subarray(44, 44 + bytes.readUInt32LE(40));
  const pcm = new Int16Array(data.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = data.readInt16LE(2 * i);
  return { rate, channels, bits, pcm };
}

function readUpload(req: IncomingMessage, onBytes: (n: number) => void): Promise<{ fields: Record<string, string>; file?: Buffer }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Buffer | undefined;
    const form = busboy({ headers: req.headers });
    form.on('field', (name, value) => (fields[name] = value));
    form.on('file', (name, stream) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        onBytes(chunk.length);
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (name === 'file') file = Buffer.concat(chunks);
      });
    });
    form.on('close', () => resolve({ fields, file }));
    form.on('error', reject);
    req.pipe(form);
  });
}

export async function startFakeWhisper(options: FakeWhisperOptions): Promise<FakeWhisper> {
  const requests: FakeRequest[] = [];
  const faults: FakeFault[] = [];
  let started = 0;
  let audioBytes = 0;
  let abandoned = 0;
  let sticky = 'en'; // 1.7.6's language, carried from one request to the next
  let lock: Promise<void> = Promise.resolve();
  const hung: ServerResponse[] = [];

  const fail = (res: ServerResponse, status: number, error: string) => {
    // 1.7.6 answers its failures with 200; later versions with the status.
    res.writeHead(options.version === '1.7.6' ? 200 : status, { 'content-type': 'application/json' }).end(JSON.stringify({ error }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    started++;
    res.on('close', () => {
      if (!res.writableFinished) abandoned++;
    });
    const { fields, file } = await readUpload(req, (n) => (audioBytes += n));
    const fault = faults.shift();
    if (fault === 'drop') return void req.socket.destroy();
    if (fault === 'hang') return void hung.push(res);
    if (fault === 'error') return fail(res, 500, 'failed to process audio');
    if (fields.language !== undefined) sticky = fields.language; // 1.7.6 keeps it for the next request
    const asked = options.version === '1.7.6' ? sticky : (fields.language ?? 'en');
    if (!CODES.has(asked)) return fail(res, 500, `unknown language '${asked}'`);
    const language = asked === 'auto' ? Object.keys(NAMES).find((code) => NAMES[code] === (options.detects ?? 'english'))! : asked;
    if (!file) return fail(res, 400, 'no \'file\' field in the request');
    const wav = parseWav(file);
    if (!wav) return fail(res, 400, 'failed to read WAV file');
    const seconds = wav.pcm.length / wav.rate / wav.channels;
    requests.push({ fields, wav: { rate: wav.rate, channels: wav.channels, bits: wav.bits, samples: wav.pcm.length }, language });
    // One inference at a time, as whisper.cpp's global lock makes it.
    const turn = lock.then(() => new Promise<void>((resolve) => setTimeout(resolve, seconds * (options.msPerAudioSecond ?? 0))));
    lock = turn;
    await turn;
    // Each segment's word as whisper.cpp times tokens: two pieces of one word (the second without a leading space).
    const words = (s: { start: number; end: number }) => [{ word: ' spe', start: s.start, end: (s.start + s.end) / 2 }, { word: 'ech', start: (s.start + s.end) / 2, end: s.end }];
    const segments = soundStretches(wav.pcm, wav.rate).map((s, id) => ({ id, text: ' speech', start: s.start, end: s.end, tokens: [50364], words: words(s), temperature: 0, avg_logprob: -0.2, no_speech_prob: 0.01 }));
    const body = { task: fields.translate === 'true' ? 'translate' : 'transcribe', language: NAMES[language], duration: seconds, text: segments.map((s) => s.text).join(''), segments };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`),
    requests,
    started: () => started,
    audioBytes: () => audioBytes,
    abandoned: () => abandoned,
    fail: (fault, count = 1) => faults.push(...Array<FakeFault>(count).fill(fault)),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
