/**
 * `blindbox demo`: the README's main job, end to end on this machine. Starts
 * the reference server in simulation mode as its own process (as a host
 * would), verifies it, transcribes media/sample.wav through the attested
 * channel, prints the verified PCRs and the transcript, and stops the server.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttestationError, ChannelError, connect, DEFAULT_POLICY, escapeControls, fileSource, quoteServerText } from '../core/index.js';
import { UsageError } from './args.js';
import { asUsage, trustedRoots } from './client-args.js';
import { formatRejected, formatVerified } from './summary.js';
import { EXIT_OK } from './exit-codes.js';
import { exitCodeFor } from './failure-exit.js';
import { demoSpec } from './commands.js';
import { parseCommand } from './flags.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const SAMPLE = fileURLToPath(new URL('../../../media/sample.wav', import.meta.url));

export async function demo(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(demoSpec, argv);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (values.engine === 'whisper-http' && values.upstream === undefined) throw new UsageError('--engine whisper-http needs --upstream <url> (the whisper.cpp server to use)');
  if (values.upstream !== undefined && values.engine !== 'whisper-http') throw new UsageError('--upstream goes with --engine whisper-http');
  const audio = values.audio ?? SAMPLE;
  // Checked before a server is started for it: a typo costs nothing.
  const source = await asUsage(fileSource(audio));
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-demo-'));
  const rootPem = path.join(dir, 'simulation-root.pem');
  out.write(`1. starting the reference server (simulation, engine ${values.engine})…\n`);
  const server = spawn(process.execPath, [MAIN, 'serve', '--simulate', '--engine', values.engine, ...(values.upstream ? ['--upstream', values.upstream] : []), '--trust-out', rootPem], { stdio: ['ignore', 'pipe', 'pipe'] });
  let serverLog = '';
  server.stderr.on('data', (d) => (serverLog += d));
  try {
    const url = await announced(server.stdout, () => serverLog);
    out.write(`   ${url} (the host proxy; TLS terminates inside the enclave app)\n\n2. attesting it (trusting the simulation root explicitly)…\n`);
    const session = await connect(url, { roots: await trustedRoots([rootPem]) });
    try {
      const { attestation } = session.attested;
      out.write(formatVerified(attestation, {}, DEFAULT_POLICY.name).replace(/^/gm, '   ') + '\n');
      const { service } = session.attested;
      if (service) out.write(`   attested service: ${quoteServerText(`${service.service} ${service.version}`, 120)}, engine ${quoteServerText(service.engine, 80)}, model ${quoteServerText(service.model, 80)}\n\n`);
      out.write(`3. transcribing ${escapeControls(path.relative(process.cwd(), audio))} over the pinned channel…\n`);
      const result = await session.transcribe(source, { format: 'text' });
      out.write(`\ntranscript:\n  ${escapeControls(result.text)}\n`);
      const reference = await readFile(audio.replace(/\.[^.]+$/, '.txt'), 'utf8').catch(() => undefined);
      if (reference) out.write(`reference:\n  ${reference.trim()}\n`);
    } finally {
      await session.close();
    }
    out.write('\n4. stopping the server.\n');
    return EXIT_OK;
  } catch (e) {
    if (e instanceof AttestationError || e instanceof ChannelError) {
      err.write(formatRejected(e));
      return exitCodeFor(e);
    }
    throw e;
  } finally {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** The URL from the server's single `listening …` line. */
function announced(stdout: NodeJS.ReadableStream, log: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stdout.on('data', (d) => {
      text += d;
      const m = /^listening (https:\/\/\S+)$/m.exec(text);
      if (m) resolve(m[1]!);
    });
    stdout.once('end', () => reject(new Error(`the server stopped before it was ready:\n${log()}`)));
  });
}
