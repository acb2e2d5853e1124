/**
 * `blindbox transcribe <url> <audio>... [--concurrency N] [--out-dir DIR]`: attest the server, then (only then)
 * upload the audio and print the transcript, or, for a batch, write one transcript per file into DIR, up to N at a
 * time, each on its own attested connection. Every transcript is shown or written only once its receipt is verified;
 * `--receipt FILE` (one file) or `--out-dir` (`DIR/<name>.receipt.json`) keeps the receipt. `--format markdown` asks
 * for verbose_json and renders it as the extension does (with `--out-dir`, the signed JSON is kept beside the `.md`).
 */
import { access, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { constants } from 'node:fs';
// Named modules, not core/index.js: the HTTP client is imported only once every flag and file has been checked.
import { AttestationError, ChannelError, InputError, ReceiptError } from '../core/errors.js';
import { fileSource, type AudioSource } from '../core/audio-source.js';
import { receiptFileText, writeReceiptFile } from '../core/receipt/file.js';
import type { AttestedSession } from '../core/transport/session.js';
import type { TranscriptResult } from '../core/transport/transcribe.js';
import { checkOutputPlan, writeFileAtomic, type PlannedOutput } from '../core/util/output-files.js';
import { shownPath } from '../core/util/regular-file.js';
import { retryLine } from '../core/util/retry-notice.js';
import { TRANSCRIPT_FORMATS, type TranscriptFormat } from '../protocol/index.js';
import { escapeControls, oneLine, quoteServerText } from '../shared/text.js';
import { UsageError } from './args.js';
import { asUsage } from './client-args.js';
import { connectOptions, inspectionOptions } from './attestation-flags.js';
import { transcribeSpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK, EXIT_REJECTED, EXIT_USAGE } from './exit-codes.js';
import { exitCodeFor } from './failure-exit.js';
import { formatRejected } from './summary.js';
import { runBounded } from '../core/util/run-bounded.js';
import { markdownTranscript, transcriptProvenance } from '../core/transcript-markdown.js';

/** Most files transcribed at once (each holds one connection and one server worker). */
const MAX_CONCURRENCY = 16;

export async function transcribeCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(transcribeSpec, argv);
  if (positionals.length < 2) throw new UsageError('transcribe takes a server URL and at least one audio file');
  const [url, ...files] = positionals as [string, ...string[]];
  const format = values.format as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  // What the server is asked for: Markdown is rendered here from the timed segments.
  const wire: TranscriptFormat = format === 'markdown' ? 'verbose_json' : format;
  const outDir = values['out-dir'];
  if (values.stream && (outDir !== undefined || files.length > 1 || format !== 'text')) throw new UsageError('--stream prints the text of one file as it comes: no --out-dir, no --format but text');
  if (outDir === undefined && files.length > 1) throw new UsageError('several audio files need --out-dir <dir> (one transcript file each)');
  if (outDir !== undefined && values.receipt !== undefined) throw new UsageError('--receipt is for one file; with --out-dir every receipt is written beside its transcript');
  if (format === 'markdown' && values.receipt !== undefined) throw new UsageError('--receipt binds the bytes the server signed, which --format markdown does not print: use --out-dir (it keeps the signed JSON, the receipt and the .md)');
  const concurrency = parseConcurrency(values.concurrency);
  // Every file is checked before anything is sent anywhere, so a typo costs no attestation round trip.
  const targets = outDir === undefined ? undefined : outputPaths(outDir, files, format);
  const sources = await asUsage(Promise.all(files.map((file) => fileSource(file))));
  // No output may be an input, another output, or a link: checked now, before anything is sent.
  await asUsage(checkOutputPlan(plannedOutputs(files, targets, format, values.receipt), files));
  if (outDir !== undefined) await mkdir(outDir, { recursive: true }).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot create the output directory ${JSON.stringify(outDir)}: ${e.code ?? String(e)}`);
  });
  // So is the receipt's folder: audio must not be sent for a receipt that cannot be kept.
  if (values.receipt !== undefined) {
    await access(path.dirname(path.resolve(values.receipt)), constants.W_OK).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot write the receipt ${JSON.stringify(values.receipt)}: its folder is not writable (${e.code ?? String(e)})`);
    });
  }
  const options = { ...(await connectOptions(values)), ...(await inspectionOptions(values)) };
  const { connect } = await import('../core/transport/session.js');
  let session: AttestedSession;
  try {
    session = await asUsage(connect(url, { ...options, maxConnections: Math.min(concurrency, sources.length), log: (line) => err.write(`blindbox: ${oneLine(line, 2000)}\n`) }));
  } catch (e) {
    return rejected(e, err);
  }
  try {
    if (session.attested.simulation) err.write('blindbox: SIMULATION server (its root is not AWS\'s): the audio is NOT protected by a real enclave.\n');
    const inspector = session.attested.binding.inspectedBy;
    if (inspector) err.write(`blindbox: TLS inspected by ${quoteServerText(inspector.issuer, 200)}; audio end-to-end encrypted to the enclave (sealed to its attested HPKE key).\n`);
    const transcribeOne = (source: AudioSource) => session.transcribe(source, { format: wire, language: values.language, onRetry: (notice) => err.write(`blindbox: ${oneLine(source.name, 300)}: HTTP ${notice.status}, ${retryLine(notice)}\n`) });
    const rendered = (result: TranscriptResult, source: AudioSource) => (format === 'markdown' ? markdownTranscript(result, transcriptProvenance(result, source.name, url, options.policy.name)) : result.body);
    if (values.stream) return await streamOne(session, sources[0]!, values, out, err);
    if (targets === undefined) {
      try {
        const result = await transcribeOne(sources[0]!);
        if (values.receipt === undefined) {
          const text = rendered(result, sources[0]!);
          out.write(forTerminal(text.endsWith('\n') ? text : text + '\n', out, err));
          return EXIT_OK;
        }
        // The receipt binds the body byte for byte: printed unchanged, `> speech.txt` is the file verify-receipt checks.
        await writeReceiptFile(values.receipt, result.receipt.file).catch((e: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot write the receipt ${JSON.stringify(values.receipt)}: ${e instanceof InputError ? e.message : e.code ?? String(e)}`);
        });
        out.write(forTerminal(result.body, out, err));
        return EXIT_OK;
      } catch (e) {
        return rejected(e, err, true);
      }
    }
    const codes = await runBounded(sources, concurrency, async (source, i) => {
      const started = performance.now();
      const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
      try {
        const result = await transcribeOne(source);
        if (format === 'markdown') await writeFileAtomic(signedPath(targets[i]!), result.body);
        await writeFileAtomic(targets[i]!, rendered(result, source));
        await writeFileAtomic(receiptPath(targets[i]!), receiptFileText(result.receipt.file));
        err.write(`${oneLine(source.name, 300)}\tok\t${seconds()} s\t→ ${oneLine(targets[i]!, 300)}\n`);
        return EXIT_OK;
      } catch (e) {
        const code = failureCode(e);
        err.write(`${oneLine(source.name, 300)}\tFAILED ${describe(e)}\t${seconds()} s\n`);
        return code;
      }
    });
    return codes.find((code) => code !== EXIT_OK) ?? EXIT_OK;
  } finally {
    await session.close();
  }
}

/**
 * `--stream`: each segment printed as it comes (the deltas as sent: joined, they are the text the receipt binds, so
 * with `--receipt` the output is that text byte for byte), then the verdict. A receipt that fails leaves the printed
 * text on stdout, and says on stderr that it is not verified, with the code and its exit status.
 */
async function streamOne(session: AttestedSession, source: AudioSource, values: { language?: string; receipt?: string }, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let printed = false;
  try {
    const result = await session.transcribeStream(source, {
      language: values.language,
      onRetry: (notice) => err.write(`blindbox: ${oneLine(source.name, 300)}: HTTP ${notice.status}, ${retryLine(notice)}\n`),
      onSegment: (segment) => {
        out.write(forTerminal(segment.index === 0 ? segment.text : ` ${segment.text}`, out, err));
        printed = true;
      },
    });
    if (values.receipt !== undefined) {
      await writeReceiptFile(values.receipt, result.receipt.file).catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot write the receipt ${JSON.stringify(values.receipt)}: ${e instanceof InputError ? e.message : e.code ?? String(e)}`);
      });
    } else {
      out.write('\n');
    }
    return EXIT_OK;
  } catch (e) {
    if (printed) err.write(`\nblindbox: the text printed above is NOT verified: ${isOurs(e) ? e.code : 'failed'}.\n`);
    return rejected(e, err, true);
  }
}

/**
 * The transcript as printed: byte for byte into a file or a pipe (the receipt binds those bytes), but on a terminal
 * with its control characters escaped line by line (it is the server's text), saying so on `err`.
 */
function forTerminal(text: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): string {
  if ((out as { isTTY?: boolean }).isTTY !== true) return text;
  const shown = text.split('\n').map(escapeControls).join('\n');
  if (shown !== text) err.write('blindbox: the transcript holds control characters; they are shown escaped (redirect the output to keep the signed bytes).\n');
  return shown;
}

/** Files at once when `--concurrency` is not given. */
const DEFAULT_CONCURRENCY = 4;

function parseConcurrency(value: string | undefined): number {
  if (value === undefined) return DEFAULT_CONCURRENCY;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_CONCURRENCY) throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`);
  return n;
}

/** The server's formats, and Markdown rendered from its verbose_json. */
const OUTPUT_FORMATS = [...TRANSCRIPT_FORMATS, 'markdown'] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** `DIR/<name without extension>.<txt|json|srt|vtt|md>` for each file (checkOutputPlan refuses two that are one). */
function outputPaths(dir: string, files: readonly string[], format: OutputFormat): string[] {
  const ext = format === 'text' ? 'txt' : format === 'verbose_json' ? 'json' : format === 'markdown' ? 'md' : format;
  return files.map((file) => path.join(dir, `${path.parse(file).name}.${ext}`));
}

/** Every file the run writes, each named for the input it comes from. */
function plannedOutputs(files: readonly string[], targets: readonly string[] | undefined, format: OutputFormat, receipt: string | undefined): PlannedOutput[] {
  if (targets === undefined) return receipt === undefined ? [] : [{ file: receipt, what: `the receipt of ${shownPath(files[0]!)}` }];
  return files.flatMap((file, i) => [
    ...(format === 'markdown' ? [{ file: signedPath(targets[i]!), what: `the signed transcript of ${shownPath(file)}` }] : []),
    { file: targets[i]!, what: `the transcript of ${shownPath(file)}` },
    { file: receiptPath(targets[i]!), what: `the receipt of ${shownPath(file)}` },
  ]);
}

/** `DIR/<name>.json` beside `DIR/<name>.md`: the verbose_json the receipt binds. */
function signedPath(markdown: string): string {
  return path.join(path.dirname(markdown), `${path.parse(markdown).name}.json`);
}

/** `DIR/<name>.receipt.json` beside `DIR/<name>.<ext>`. */
function receiptPath(transcript: string): string {
  return path.join(path.dirname(transcript), `${path.parse(transcript).name}.receipt.json`);
}

function isOurs(e: unknown): e is AttestationError | ChannelError | ReceiptError {
  return e instanceof AttestationError || e instanceof ChannelError || e instanceof ReceiptError;
}

function failureCode(e: unknown): number {
  if (isOurs(e)) return exitCodeFor(e);
  if (typeof (e as NodeJS.ErrnoException).code === 'string') return EXIT_USAGE; // the output file could not be written
  throw e;
}

function describe(e: unknown): string {
  if (isOurs(e)) return formatRejected(e).replace(/^[A-Z]+\s+/, '').replace(/\n\s*/g, ' ').trim();
  if (e instanceof InputError) return `${e.code}: ${e.message}`;
  return `cannot write the transcript: ${(e as NodeJS.ErrnoException).code}`;
}

/**
 * The rejection on stderr and its exit code; anything but an attestation, channel or receipt failure is not ours to
 * report. `uploading`: the failure came after the audio was handed to the attested channel.
 */
function rejected(e: unknown, err: NodeJS.WritableStream, uploading = false): number {
  if (!isOurs(e)) throw e;
  err.write(formatRejected(e));
  // A receipt is checked after the upload: the audio went to an attested enclave, which then would not sign for its answer.
  if (uploading && exitCodeFor(e) === EXIT_REJECTED) err.write('blindbox: the transcript is not shown: the server did not prove it.\n');
  else if (exitCodeFor(e) === EXIT_REJECTED) err.write('blindbox: no audio was sent.\n');
  return exitCodeFor(e);
}
