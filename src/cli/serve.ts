/** `blindbox serve --simulate`: the reference server on this machine, with simulated (NOT confidential) attestation. */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startSimulationServer } from '../enclave/server.js';
import { parsePort, UsageError } from './args.js';

export async function serve(argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { simulate: { type: 'boolean', default: false }, port: { type: 'string' }, 'trust-out': { type: 'string' } },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (!values.simulate) {
    throw new UsageError('only --simulate is available here: this machine has no Nitro Security Module (/dev/nsm), and the simulation must be asked for explicitly');
  }
  const port = parsePort(values.port);
  // Listen for signals before announcing readiness: whoever reads "listening" may signal at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      err.write(`[enclave] ${signal}: finishing running requests and stopping\n`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

  const server = await startSimulationServer({ port, log: (line) => err.write(`[enclave] ${line}\n`) });
  if (values['trust-out']) {
    try {
      await writeFile(values['trust-out'], server.provider.rootPem);
    } catch (e) {
      await server.close();
      throw new UsageError(`cannot write the simulation root to ${JSON.stringify(values['trust-out'])}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  err.write('[enclave] SIMULATION: attestation documents are signed by a locally generated CA. This server is NOT confidential.\n');
  err.write(`[enclave] PCR0 ${Buffer.from(server.provider.pcrs.get(0)!).toString('hex')}\n`);
  out.write(`listening ${server.url}\n`);

  await stopped;
  await server.close();
  return 0;
}
