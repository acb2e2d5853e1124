/**
 * The reference server as one unit: the enclave app (TLS inside) listening on
 * a private Unix socket, and the host proxy on a TCP port forwarding to it,
 * as on a Nitro host (client → host :443 → vsock → enclave).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServiceInfo } from '../core/attestation/service-info.js';
import { SimulationAttestationProvider } from './attestation/simulation.js';
import type { TranscriptionEngine } from './engine/engine.js';
import { transcriptionHandlers, type TranscriptionLimits } from './http/transcription.js';
import { startEnclaveApp, type EnclaveApp } from './app.js';
import { startHostProxy, type HostProxy } from './host-proxy.js';
import { measurePcrs } from './measurements.js';
import { createTlsIdentity } from './tls-identity.js';

export const SERVER_VERSION = '0.1.0';

export interface ReferenceServerOptions {
  /** Host-proxy port on 127.0.0.1 (0: any free port). */
  readonly port?: number;
  /** The speech engine; without one the transcription endpoints answer 503. Closed with the server. */
  readonly engine?: TranscriptionEngine;
  readonly limits?: Partial<TranscriptionLimits>;
  readonly log?: (line: string) => void;
  /** Injectable clock for the simulation CA (tests). */
  readonly clock?: () => Date;
}

export interface ReferenceServer {
  /** `https://127.0.0.1:<port>`: the host proxy, what clients connect to. */
  readonly url: string;
  readonly provider: SimulationAttestationProvider;
  readonly app: EnclaveApp;
  readonly proxy: HostProxy;
  /** Transcription requests admitted and not yet finished (uploading, queued or decoding). */
  inFlight(): number;
  close(): Promise<void>;
}

/** Starts the simulation server: measurements, CA, TLS identity, enclave app, host proxy. */
export async function startSimulationServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const engine = options.engine;
  const service: ServiceInfo = { service: 'blindbox', version: SERVER_VERSION, engine: engine?.name ?? 'none', model: engine?.model ?? 'none', simulation: true };
  const pcrs = await measurePcrs({ engine: service.engine, model: service.model, version: service.version });
  const provider = await SimulationAttestationProvider.create(pcrs, options.clock);
  const identity = await createTlsIdentity();
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-enclave-'));
  const transcription = engine ? transcriptionHandlers(engine, options.limits) : undefined;
  const app = await startEnclaveApp({ provider, identity, service, transcription, log: options.log }, { path: path.join(dir, 'enclave.sock') });
  let proxy: HostProxy;
  try {
    proxy = await startHostProxy({ host: '127.0.0.1', port: options.port ?? 0 }, app.target);
  } catch (err) {
    await app.close();
    await engine?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: `https://127.0.0.1:${proxy.port}`,
    provider,
    app,
    proxy,
    inFlight: () => transcription?.inFlight() ?? 0,
    async close() {
      await proxy.close();
      // The app finishes running requests first, then the engine's workers stop.
      await app.close();
      await engine?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
