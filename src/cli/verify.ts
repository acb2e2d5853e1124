/** `blindbox verify <url>`: attest a live server and print what was proven. */
import { parseArgs } from 'node:util';
import { AttestationError, ChannelError, connect, rejectedReport, verifiedReport } from '../core/index.js';
import { asUsage, connectOptions, UsageError } from './args.js';
import { formatRejected, formatVerified } from './summary.js';


/** Flags shared with `transcribe`. */
export const attestationFlags = {
  'trust-root': { type: 'string', multiple: true },
  policy: { type: 'string' },
  pcr: { type: 'string', multiple: true },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export async function verify(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: attestationFlags });
  if (positionals.length !== 1) throw new UsageError('verify takes exactly one server URL');
  const url = positionals[0]!;
  const options = await connectOptions(values);
  try {
    const session = await asUsage(connect(url, options));
    const { attestation, simulation } = session.attested;
    await session.close();
    out.write(values.json ? JSON.stringify({ ...verifiedReport(attestation), url, simulation }) + '\n' : `server ${url}\n` + formatVerified(attestation, options.policy.pcrs));
    return 0;
  } catch (err) {
    if (!(err instanceof AttestationError || err instanceof ChannelError)) throw err;
    out.write(values.json ? JSON.stringify({ ...rejectedReport(err), url }) + '\n' : formatRejected(err));
    return exitCodeFor(err);
  }
}

/** 1: the server is not (provably) the attested enclave; 3: the server or network failed. */
export function exitCodeFor(err: AttestationError | ChannelError): number {
  return err instanceof AttestationError || err.code === 'TLS_BINDING_MISMATCH' ? 1 : 3;
}
