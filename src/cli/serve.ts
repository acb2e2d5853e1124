/**
 * `blindbox serve`: the reference server, attested by the Nitro Secure Module inside an enclave, or with
 * `--simulate` on any machine with simulated (NOT confidential) attestation.
 *
 * Every flag is checked before the server and its engine are imported: a usage error costs a bare Node start.
 */
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { ENGINE_NAMES, type EngineName } from '../server/engine-names.js';
import type { EngineChoice } from '../server/engines.js';
import type { WhisperModelFile } from '../server/engine/whisper/model-file.js';
import type { TranscriptionEngine } from '../server/engine/engine.js';
import { parsePort, parseSeconds, UsageError } from './args.js';
import { EXIT_SERVER, EXIT_USAGE } from './exit-codes.js';
import { serveSpec } from './commands.js';
import { parseCommand } from './flags.js';
import type { StartedServer } from './serve-attestation.js';
import { oneLine } from '../shared/text.js';

export async function serve(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(serveSpec, argv);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.simulate && values['trust-out'] !== undefined) throw new UsageError("--trust-out goes with --simulate: an enclave's root is AWS's, which clients already trust");
  if (!values.simulate && values.ca !== undefined) throw new UsageError("--ca goes with --simulate: an enclave's documents are signed by AWS's CA, not a local one");
  const port = parsePort(values.port);
  // `none` serves attestation only (no transcription endpoint does any work).
  const engineName = values.engine === 'none' ? undefined : (values.engine as EngineName);
  if (engineName !== undefined && !ENGINE_NAMES.includes(engineName)) throw new UsageError(`--engine must be one of ${[...ENGINE_NAMES, 'none'].join(', ')}`);
  if (values.upstream !== undefined && engineName !== 'whisper-http') throw new UsageError('--upstream goes with --engine whisper-http');
  if (values['model-file'] !== undefined && engineName !== 'whisper-http' && engineName !== 'whisper') throw new UsageError('--model-file (the Whisper model, measured into PCR16) goes with --engine whisper or whisper-http');
  for (const flag of ['whisper-instances', 'whisper-threads', 'whisper-server'] as const) {
    if (values[flag] !== undefined && engineName !== 'whisper') throw new UsageError(`--${flag} goes with --engine whisper`);
  }
  if (engineName === 'whisper' && values['model-file'] === undefined) throw new UsageError('the whisper engine needs --model-file <a ggml Whisper model, e.g. ggml-base.en.bin>');
  const whisperInstances = wholeNumber('--whisper-instances', values['whisper-instances'], 64);
  const whisperThreads = wholeNumber('--whisper-threads', values['whisper-threads'], 256);
  // Checked here, as a usage error: the engine's own check is a RangeError, which the CLI reports as its own fault, not the user's.
  if (engineName === 'whisper-http' && values.upstream === undefined) throw new UsageError('the whisper-http engine needs --upstream <url>');
  let upstream: URL | undefined;
  if (values.upstream !== undefined) {
    try {
      upstream = new URL(values.upstream);
    } catch {
      throw new UsageError(`--upstream ${JSON.stringify(values.upstream)} is not a URL`);
    }
  }
  // Behind a forwarder that hides client addresses (in an enclave every connection comes from socat on loopback), the
  // per-source cap would cap the whole service: the entry script raises it, and the parent enforces it instead.
  const perSource = values['connections-per-source'] === undefined ? undefined : Number(values['connections-per-source']);
  if (perSource !== undefined && !(Number.isInteger(perSource) && perSource >= 1 && perSource <= 4096)) throw new UsageError('--connections-per-source must be a whole number from 1 to 4096');
  const attestationRate = values['attestations-per-source'] === undefined ? undefined : Number(values['attestations-per-source']);
  if (attestationRate !== undefined && !(Number.isInteger(attestationRate) && attestationRate >= 1 && attestationRate <= 10_000)) throw new UsageError('--attestations-per-source must be a whole number from 1 to 10000');
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1 && workers <= 64)) throw new UsageError('--workers must be a whole number from 1 to 64');
  const splitSeconds = values['split-seconds'] === undefined ? undefined : Number(values['split-seconds']);
  if (splitSeconds !== undefined && !(Number.isFinite(splitSeconds) && splitSeconds > 0)) throw new UsageError('--split-seconds must be a positive number of seconds');
  const budgetMb = values['upload-budget-mb'] === undefined ? undefined : Number(values['upload-budget-mb']);
  if (budgetMb !== undefined && !(Number.isInteger(budgetMb) && budgetMb >= 1 && budgetMb <= 1024 * 1024)) throw new UsageError('--upload-budget-mb must be a whole number of MB from 1 to 1048576');
  // Listen for signals before announcing readiness: whoever reads "listening" may signal at once. A second signal
  // does not wait for the graceful stop.
  const stopped = new Promise<void>((resolve) => {
    let signalled = false;
    const stop = (signal: string) => {
      if (signalled) {
        err.write(`[enclave] ${signal} again: stopping now\n`);
        process.exit(1);
      }
      signalled = true;
      err.write(`[enclave] ${signal}: finishing running requests and stopping\n`);
      resolve();
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

  const keepAliveTimeoutMs = parseSeconds('--keep-alive', values['keep-alive']);
  if (keepAliveTimeoutMs === 0) throw new UsageError('--keep-alive must be more than 0 seconds');
  const [{ startEngine }, { startAttestedServer }, { NsmError }, { WhisperServerStartError }, { WhisperModelError, readWhisperModelFile }, { WHISPER_SERVER_BINARY }] = await Promise.all([
    import('../server/engines.js'),
    import('./serve-attestation.js'),
    import('../server/attestation/nsm/errors.js'),
    import('../server/engine/whisper/supervisor.js'),
    import('../server/engine/whisper/model-file.js'),
    import('../server/engine/whisper/binary.js'),
  ]);
  const binary = values['whisper-server'] ?? WHISPER_SERVER_BINARY;
  if (engineName === 'whisper' && !existsSync(binary)) throw new UsageError(`whisper-server is not at ${JSON.stringify(binary)}: build it with npm run setup, or name it with --whisper-server <path>`);
  // The model file is checked (and hashed) with either Whisper engine: its name and hash are attested, and an
  // English-only model refuses other languages before any audio is decoded.
  let model: WhisperModelFile | undefined;
  try {
    model = values['model-file'] === undefined ? undefined : await readWhisperModelFile(values['model-file']);
  } catch (e) {
    if (!(e instanceof WhisperModelError)) throw e;
    err.write(`blindbox serve: ${oneLine(e.message, 2000)}\n`); // one line, before any child is started
    return EXIT_USAGE;
  }
  const whisper: EngineChoice['whisper'] = engineName === 'whisper' && model ? { model, binary, instances: whisperInstances, threads: whisperThreads } : undefined;
  let engine: TranscriptionEngine | undefined;
  if (engineName) {
    err.write(`[enclave] starting the ${engineName} engine…\n`);
    try {
      engine = await startEngine({ engine: engineName, upstream, workers, splitSeconds, whisper, whisperModel: model, log: (line) => err.write(`[enclave] ${oneLine(line, 2000)}\n`) });
    } catch (e) {
      if (!(e instanceof WhisperServerStartError)) throw e;
      err.write(`[enclave] ${oneLine(e.message, 2000)}\n`);
      return EXIT_SERVER;
    }
  }
  let started: StartedServer;
  try {
    started = await startAttestedServer(values.simulate, {
      port,
      engine,
      whisperModelFile: values['model-file'],
      caDir: values.ca,
      limits: budgetMb === undefined ? undefined : { uploadBudgetBytes: budgetMb * 1024 * 1024 },
      connections: {
        ...(keepAliveTimeoutMs === undefined ? {} : { keepAliveTimeoutMs }),
        ...(attestationRate === undefined ? {} : { attestationsPerSource: { perSecond: attestationRate, burst: 4 * attestationRate } }),
      },
      proxy: perSource === undefined ? undefined : { maxConnectionsPerSource: perSource },
      // A log line may quote a client (a file name, a header): escaped, one line.
      log: (line) => err.write(`[enclave] ${oneLine(line, 2000)}\n`),
    });
  } catch (e) {
    await engine?.close();
    if (e instanceof NsmError) {
      err.write(`[enclave] cannot attest with the Nitro Secure Module (${e.code}): ${e.message}\n`);
      return EXIT_SERVER;
    }
    // A port someone else holds (or one this user may not bind) is the caller's to change.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') throw new UsageError(`cannot listen on port ${port}: ${code === 'EADDRINUSE' ? 'it is in use' : 'permission denied'} (choose another with --port, or --port 0 for any free port)`);
    // The only file the simulation's start reads is the --ca directory's root: a failure there is the caller's to fix.
    if (values.ca !== undefined && (e as NodeJS.ErrnoException).code) throw new UsageError(`cannot use the simulation CA in ${JSON.stringify(values.ca)}: ${(e as NodeJS.ErrnoException).code}`);
    throw e;
  }
  const { server, rootPem, notices } = started;
  if (values['trust-out'] && rootPem !== undefined) {
    try {
      await writeFile(values['trust-out'], rootPem);
    } catch (e) {
      await server.close();
      throw new UsageError(`cannot write the simulation root to ${JSON.stringify(values['trust-out'])}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  for (const notice of notices) err.write(`[enclave] ${notice}\n`);
  if (rootPem !== undefined && values.ca === undefined) err.write('[enclave] this simulation root is new at every start, so clients must trust it again: keep one root across restarts with --ca <dir>\n');
  if (rootPem !== undefined && !values['trust-out']) err.write(`[enclave] clients trust this simulation with: blindbox verify ${server.url} --trust-root <file> (write it with --trust-out <file>)\n`);
  out.write(`listening ${server.url}\n`);

  await stopped;
  // The server's close is bounded (grace period, then abort); this is the backstop should a worker hang in native code.
  const backstop = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), HARD_STOP_MS).unref());
  if ((await Promise.race([server.close(), backstop])) === 'late') {
    err.write(`[enclave] did not stop within ${HARD_STOP_MS / 1000} s: exiting anyway\n`);
    process.exit(1);
  }
  return 0;
}

/** Longest a graceful stop may take before the process exits regardless (below the 15 s a supervisor is promised). */
const HARD_STOP_MS = 13_000;

/** A whole-number flag from 1 to `max`, or undefined when absent. */
function wholeNumber(flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1 && n <= max)) throw new UsageError(`${flag} must be a whole number from 1 to ${max}`);
  return n;
}
