/**
 * `blindbox proxy <url> [--listen HOST:PORT]`: the core's local endpoint (core/local-endpoint/) for other tools. Its
 * first two lines on stdout are the base URL and `token <TOKEN>`, for a script to read; what was attested, and every
 * request, go to stderr. Runs until SIGINT or SIGTERM, then stops cleanly (exit 0).
 */
// Named modules, not core/index.js: the HTTP client is imported only once every flag has been checked.
import { AttestationError, ChannelError } from '../core/errors.js';
import { parseListenAddress } from '../core/local-endpoint/listen-address.js';
import { parseServerOrigin } from '../core/transport/server-origin.js';
import type { SessionSource } from '../core/local-endpoint/upstream.js';
import { oneLine } from '../shared/text.js';
import { UsageError } from './args.js';
import { asUsage } from './client-args.js';
import { connectOptions, inspectionOptions } from './attestation-flags.js';
import { proxySpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK } from './exit-codes.js';
import { formatRejected } from './summary.js';

export async function proxyCommand(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(proxySpec, argv);
  if (positionals.length !== 1) throw new UsageError('proxy takes exactly one server URL');
  const url = positionals[0]!;
  await asUsage(() => parseServerOrigin(url));
  // Decided before anything listens: a non-loopback address is refused unless explicitly allowed.
  const listen = await asUsage(() => parseListenAddress(values.listen, { allowRemote: values['allow-remote'] }));
  if (!listen.loopback) err.write(`blindbox proxy: WARNING: listening on ${listen.host}, which is not loopback: other machines can reach this endpoint, and its token crosses the network in clear text.\n`);
  const options = { ...(await connectOptions(values)), ...(await inspectionOptions(values)) };
  const say = (line: string) => err.write(`blindbox proxy: ${oneLine(line, 2000)}\n`);
  const { connectingSource } = await import('../core/local-endpoint/upstream.js');
  const { startLocalEndpoint } = await import('../core/local-endpoint/endpoint.js');
  const { newBearerToken } = await import('../core/local-endpoint/bearer.js');
  const token = newBearerToken();
  const upstream = connectingSource(url, { ...options, log: say });
  const endpoint = await startLocalEndpoint({ listen, token, upstream, log: say }).catch(async (e: NodeJS.ErrnoException) => {
    await upstream.close();
    throw new UsageError(`cannot listen on ${values.listen}: ${e.code ?? String(e)}`);
  });
  // Listening for the signals before saying where it listens: a caller may stop it as soon as it knows.
  const stopped = untilSignal();
  out.write(`${endpoint.baseUrl}\ntoken ${token}\n`);
  void reportAttestation(upstream, options.policy.name, say, err);
  const signal = await stopped;
  say(`${signal}: stopping`);
  await endpoint.close();
  return EXIT_OK;
}

/**
 * Attests now, so that a server that does not attest is said at once (the endpoint attests again on each request until
 * one does), and says what was attested or why not.
 */
async function reportAttestation(upstream: SessionSource, policyName: string, say: (line: string) => void, err: NodeJS.WritableStream): Promise<void> {
  try {
    const session = await upstream.session();
    const { attestation, simulation, service } = session.attested;
    say(`attested ${attestation.moduleId}${service ? ` (${service.engine}, ${service.model})` : ''} at ${upstream.server} under policy ${JSON.stringify(policyName)}: forwarding`);
    if (simulation) say('SIMULATION server (its root is not AWS\'s): the audio is NOT protected by a real enclave.');
  } catch (e) {
    if (!(e instanceof AttestationError || e instanceof ChannelError)) throw e;
    if (e.code === 'CANCELLED') return;
    err.write(formatRejected(e));
    say('no request is forwarded until the server attests; each request tries again.');
  }
}

/** Resolves with the first SIGINT or SIGTERM, then listens no more. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
