/** `blindbox verify <url>`: attest a live server and print what was proven. */
// Named modules, not core/index.js: the HTTP client is imported only once the flags are known to be good.
import { AttestationError, ChannelError } from '../core/errors.js';
import { rejectedReport, verifiedReport } from '../core/attestation/report.js';
import { jsonText } from '../shared/text.js';
import { UsageError } from './args.js';
import { asUsage } from './client-args.js';
import { connectOptions } from './attestation-flags.js';
import { verifySpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK } from './exit-codes.js';
import { exitCodeFor } from './failure-exit.js';
import { formatRejected, formatVerified } from './summary.js';

export async function verify(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(verifySpec, argv);
  if (positionals.length !== 1) throw new UsageError('verify takes exactly one server URL');
  const url = positionals[0]!;
  const options = await connectOptions(values);
  const { connect } = await import('../core/transport/session.js');
  try {
    const session = await asUsage(connect(url, options));
    const { attestation, simulation } = session.attested;
    await session.close();
    out.write(values.json ? jsonText({ ...verifiedReport(attestation), url, simulation }) + '\n' : formatVerified(attestation, options.policy.pcrs, options.policy.name, [['server', url]]));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof AttestationError || err instanceof ChannelError)) throw err;
    out.write(values.json ? jsonText({ ...rejectedReport(err), url }) + '\n' : formatRejected(err));
    return exitCodeFor(err);
  }
}
