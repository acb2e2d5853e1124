/** `blindbox transcribe <url> <audio>`: attest the server, then (only then) upload the audio and print the transcript. */
import { parseArgs } from 'node:util';
import { AttestationError, ChannelError, connect, fileSource, TRANSCRIPT_FORMATS, type TranscriptFormat } from '../core/index.js';
import { asUsage, UsageError } from './args.js';
import { attestationFlags, connectOptions } from './attestation-flags.js';
import { EXIT_OK, EXIT_REJECTED, exitCodeFor } from './exit-codes.js';
import { formatRejected } from './summary.js';


export async function transcribeCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...attestationFlags, format: { type: 'string', default: 'text' }, language: { type: 'string' } },
  });
  if (positionals.length !== 2) throw new UsageError('transcribe takes a server URL and an audio file');
  const [url, file] = positionals as [string, string];
  const format = values.format as TranscriptFormat;
  if (!TRANSCRIPT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${TRANSCRIPT_FORMATS.join(', ')}`);
  // The file is checked before anything is sent anywhere, so a typo costs no attestation round trip.
  const source = await asUsage(fileSource(file));
  const options = await connectOptions(values);
  try {
    const session = await asUsage(connect(url, options));
    try {
      if (session.attested.simulation) err.write('blindbox: SIMULATION server (its root is not AWS\'s): the audio is NOT protected by a real enclave.\n');
      const result = await session.transcribe(source, { format, language: values.language });
      out.write(result.body.endsWith('\n') ? result.body : result.body + '\n');
      return EXIT_OK;
    } finally {
      await session.close();
    }
  } catch (e) {
    if (!(e instanceof AttestationError || e instanceof ChannelError)) throw e;
    err.write(formatRejected(e));
    if (exitCodeFor(e) === EXIT_REJECTED) err.write('blindbox: no audio was sent.\n');
    return exitCodeFor(e);
  }
}
