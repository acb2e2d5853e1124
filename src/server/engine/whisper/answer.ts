/**
 * What whisper.cpp's answers mean: a `verbose_json` body mapped to a transcript, and the transcripts of a split
 * recording's pieces joined into one. Anything but a well-formed `verbose_json` is the engine failing, never an empty
 * transcript: whisper.cpp v1.7.6 answers some failures with HTTP 200 and `{"error":"…"}`. An empty transcript means
 * whisper heard nothing: captions of non-speech such as `[BLANK_AUDIO]` are not transcript text.
 */
import type { Segment, TimedWord } from '../../../protocol/transcript.js';
import { EngineError, type Transcript } from '../engine.js';
import { languageTag } from '../language-tag.js';

/** The transcript of one piece of audio, timed from the piece's start. */
export interface PieceTranscript {
  readonly segments: readonly Segment[];
  /** The words of its segments with speech, as whisper.cpp timed its tokens (absent when it timed none). */
  readonly words?: readonly TimedWord[];
  /** The language whisper.cpp names (a tag), if it names one. */
  readonly language?: string;
}

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The message of an OpenAI (`{error:{message}}`) or whisper.cpp (`{error}`) error body, or the body, on one short line. */
export function upstreamMessage(body: string): string {
  let message = body;
  try {
    const json: unknown = JSON.parse(body);
    const error = isObject(json) ? json.error : undefined;
    if (typeof error === 'string') message = error;
    else if (isObject(error) && typeof error.message === 'string') message = error.message;
  } catch {
    // not JSON: the body itself
  }
  return message.replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * What Whisper models write for sound that is not speech: `[BLANK_AUDIO]` for silence, `[MUSIC]`, `(wind blowing)`,
 * `♪`. The models write these as text (whisper.cpp passes them through as any other), so an answer would read as
 * speech heard. Square brackets never transcribe speech: any bracketed span goes. A parenthesised span goes only when
 * it is all a segment says, since words in parentheses beside speech may be speech.
 */
const BRACKETED = /\s*\[[^\]]*\]\s*/g;
const ONLY_CAPTIONS = /^(?:\s|\([^)]*\)|[♪♫*.,!?-])*$/u;

/** A segment's text without non-speech captions, trimmed; empty when it had nothing else. */
function spokenText(text: string): string {
  const kept = text.replace(BRACKETED, ' ').trim();
  return ONLY_CAPTIONS.test(kept) ? '' : kept;
}

const failed = (why: string) => new EngineError('ENGINE_FAILED', `The transcription server ${why}.`);

/**
 * Maps a 200 answer's body, the transcript of `seconds` of audio: its segments in order, non-overlapping, within
 * [0, seconds]. Throws `EngineError` `ENGINE_FAILED` for an error body or anything but `verbose_json` with segments.
 */
export function pieceTranscript(body: string, seconds: number): PieceTranscript {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw failed('answered with something other than JSON');
  }
  if (isObject(json) && json.error !== undefined) throw failed(`answered with an error: ${upstreamMessage(body)}`);
  if (!isObject(json) || !Array.isArray(json.segments) || (json.text !== undefined && typeof json.text !== 'string')) {
    throw failed('answered with something other than verbose_json');
  }
  const raw = json.segments.map((s: unknown) => {
    if (!isObject(s) || !finite(s.start) || !finite(s.end) || typeof s.text !== 'string') throw failed('answered with a malformed segment');
    return { start: s.start, end: s.end, text: spokenText(s.text), words: s.words };
  });
  // Text with no segment to time it is not "heard nothing": it is an answer that lost its segments.
  if (raw.length === 0 && typeof json.text === 'string' && json.text.trim()) throw failed('answered text without segments');
  raw.sort((a, b) => a.start - b.start);
  const segments: Segment[] = [];
  const words: TimedWord[] = [];
  for (const s of raw) {
    const start = Math.min(Math.max(s.start, segments.at(-1)?.end ?? 0), seconds);
    if (!s.text) continue;
    segments.push({ start, end: Math.min(Math.max(s.end, start), seconds), text: s.text });
    words.push(...wordsOfTokens(s.words, seconds));
  }
  const language = typeof json.language === 'string' && json.language ? languageTag(json.language) : undefined;
  return { segments, ...(words.length > 0 ? { words } : {}), ...(language === undefined ? {} : { language }) };
}

/** A token that is not speech: whisper.cpp's special tokens (`[_BEG_]`, `<|en|>`) and captions (`[BLANK_AUDIO]`). */
const SPECIAL_TOKEN = /^(?:\[[^\]]*\]|<\|[^|]*\|>)$/;

/**
 * The words of a segment from whisper.cpp's timed tokens (`words`: `{word, start, end}`, one per token): a token that
 * starts with a space starts a word, any other (a piece of a word, punctuation) ends the one before. Malformed tokens
 * are skipped: word times are a help, the transcript is the segments'.
 */
function wordsOfTokens(tokens: unknown, seconds: number): TimedWord[] {
  if (!Array.isArray(tokens)) return [];
  const words: { word: string; start: number; end: number }[] = [];
  for (const token of tokens) {
    if (!isObject(token) || typeof token.word !== 'string' || !finite(token.start) || !finite(token.end)) continue;
    const text = token.word;
    if (!text.trim() || SPECIAL_TOKEN.test(text.trim())) continue;
    const start = Math.min(Math.max(token.start, words.at(-1)?.end ?? 0), seconds);
    const end = Math.min(Math.max(token.end, start), seconds);
    const last = words.at(-1);
    if (last && !/^\s/.test(text)) {
      last.word += text;
      last.end = end;
    } else {
      words.push({ word: text.trim(), start, end });
    }
  }
  return words;
}

/** A piece's transcript and where the piece starts in the recording (seconds). */
export interface TimedPiece {
  readonly start: number;
  readonly transcript: PieceTranscript;
}

/**
 * Joins a recording's pieces, given in order, as they come: segments offset by each piece's start, kept monotonic and
 * within [0, duration] (`duration` may be given only at `end`, when it is not known before).
 */
export class PieceJoiner {
  readonly segments: Segment[] = [];
  readonly words: TimedWord[] = [];
  /** The first piece, and the first with speech: the language is the one detected in it. */
  #first: PieceTranscript | undefined;
  #heard: PieceTranscript | undefined;
  #duration: number;

  constructor(duration = Infinity) {
    this.#duration = duration;
  }

  /** Adds the next piece; returns its segments as joined. */
  push({ start: offset, transcript }: TimedPiece): Segment[] {
    const added: Segment[] = [];
    for (const s of transcript.segments) {
      const start = Math.min(Math.max(s.start + offset, this.segments.at(-1)?.end ?? 0), this.#duration);
      const segment = { start, end: Math.min(Math.max(s.end + offset, start), this.#duration), text: s.text };
      this.segments.push(segment);
      added.push(segment);
    }
    for (const w of transcript.words ?? []) {
      const start = Math.min(Math.max(w.start + offset, this.words.at(-1)?.end ?? 0), this.#duration);
      this.words.push({ word: w.word, start, end: Math.min(Math.max(w.end + offset, start), this.#duration) });
    }
    this.#first ??= transcript;
    if (transcript.segments.length > 0) this.#heard ??= transcript;
    return added;
  }

  /** The recording's transcript; its language is the one detected in the first piece with speech, else `fallback`. */
  end(duration: number, fallback: string): Transcript {
    return { text: this.segments.map((s) => s.text).join(' '), segments: this.segments, duration, language: (this.#heard ?? this.#first)?.language ?? fallback, ...(this.words.length > 0 ? { words: this.words } : {}) };
  }
}

/** The recording's transcript from its pieces' (any order); see `PieceJoiner`. */
export function joinPieces(pieces: readonly TimedPiece[], duration: number, fallback: string): Transcript {
  const joiner = new PieceJoiner(duration);
  for (const piece of [...pieces].sort((a, b) => a.start - b.start)) joiner.push(piece);
  return joiner.end(duration, fallback);
}
