/**
 * Which attestation `blindbox serve` runs on: the Nitro Secure Module when this is an enclave, the simulation only
 * when asked for by name. Never falls back from one to the other: a server that silently simulated would be a
 * server whose documents no client should trust.
 */
import type { AttestationProvider } from '../server/attestation/provider.js';
import { NsmError } from '../server/attestation/nsm/errors.js';
import { APPLICATION_PCR } from '../server/application-pcr.js';
import { startNitroServer, startSimulationServer, type ReferenceServer, type ReferenceServerOptions } from '../server/server.js';
import { UsageError } from './args.js';

export interface StartedServer {
  readonly server: ReferenceServer<AttestationProvider>;
  /** The simulation root, for `--trust-out`; absent on the NSM (whose root is AWS's). */
  readonly rootPem?: string;
  /** What the operator is told about the attestation, one line each. */
  readonly notices: readonly string[];
}

/**
 * Starts the server on the NSM, or on the simulation when `simulate`. Without an NSM device: a usage error naming
 * --simulate, never a silent fall back to a simulation that is not confidential.
 */
export async function startAttestedServer(simulate: boolean, options: ReferenceServerOptions): Promise<StartedServer> {
  if (simulate) {
    const server = await startSimulationServer(options);
    const notice = 'SIMULATION: attestation documents are signed by a locally generated CA. This server is NOT confidential.';
    return { server, rootPem: server.provider.rootPem, notices: [notice, ...pcrLines(server.provider)] };
  }
  let server: ReferenceServer<AttestationProvider>;
  try {
    server = await startNitroServer(options);
  } catch (err) {
    if (err instanceof NsmError && err.code === 'NSM_DEVICE_MISSING') {
      throw new UsageError('this machine has no Nitro Secure Module (/dev/nsm): run serve inside a Nitro enclave, or ask for the simulation explicitly with --simulate');
    }
    throw err;
  }
  const moduleId = (server.provider as { moduleId?: string }).moduleId ?? 'unknown';
  const notices = [`attestation: Nitro Secure Module ${moduleId}; PCR${APPLICATION_PCR} measured and locked`, ...pcrLines(server.provider)];
  // Said, not refused: the model may be pinned by the image (PCR2) alone, but a policy pinning PCR16 should know.
  if (options.engine?.name === 'whisper-http' && options.whisperModelFile === undefined) notices.push(`PCR${APPLICATION_PCR} measures no model file: pass --model-file <the model whisper.cpp loads>`);
  return { server, notices };
}

/** PCR0 (the code) and PCR16 (the model), as a policy pins them. */
function pcrLines(provider: AttestationProvider): string[] {
  return [0, APPLICATION_PCR].flatMap((i) => {
    const value = provider.pcrs.get(i);
    return value ? [`PCR${i} ${Buffer.from(value).toString('hex')}`] : [];
  });
}
