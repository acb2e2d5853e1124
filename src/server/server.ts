/**
 * The reference server as one unit: the enclave app (TLS inside) listening on
 * a private Unix socket, and the host proxy on a TCP port forwarding to it,
 * as on a Nitro host (client → host :443 → vsock → enclave).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServiceInfo } from '../protocol/service-info.js';
import type { AttestationProvider } from './attestation/provider.js';
import { NsmAttestationProvider } from './attestation/nsm/provider.js';
import { SimulationAttestationProvider } from './attestation/simulation.js';
import { loadOrCreateSimulationRoot } from './attestation/simulation-ca.js';
import { APPLICATION_PCR, applicationPcrValue, engineModelPaths, measureApplication } from './application-pcr.js';
import type { TranscriptionEngine } from './engine/engine.js';
import { receiptIssuer } from './http/receipt.js';
import { transcriptionHandlers, type TranscriptionLimits } from './http/transcription.js';
import { ReplayGuard } from './http/sealed-request.js';
import { generateHpkeKeyPair } from '../shared/sealed-body.js';
import { startEnclaveApp, type ConnectionLimits, type EnclaveApp } from './app.js';
import { startHostProxy, type HostProxy, type HostProxyLimits } from './host-proxy.js';
import { measurePcrs } from './measurements.js';
import { createTlsIdentity } from './tls-identity.js';

export const SERVER_VERSION = '0.1.0';

export interface ReferenceServerOptions {
  /** Host-proxy port on 127.0.0.1 (0: any free port). */
  readonly port?: number;
  /** The speech engine; without one the transcription endpoints answer 503. Closed with the server. */
  readonly engine?: TranscriptionEngine;
  readonly limits?: Partial<TranscriptionLimits>;
  /** The enclave app's connection limits and shutdown grace. */
  readonly connections?: Partial<ConnectionLimits>;
  /** The host proxy's connection caps. */
  readonly proxy?: Partial<HostProxyLimits>;
  readonly log?: (line: string) => void;
  /** Injectable clock for the simulation CA (tests). */
  readonly clock?: () => Date;
  /** A directory holding the simulation root shared by replicas (created there when absent); default: a new root. */
  readonly caDir?: string;
  /** whisper-http: the model file the whisper.cpp server loads, measured into PCR16. */
  readonly whisperModelFile?: string;
}

export interface ReferenceServer<P extends AttestationProvider = SimulationAttestationProvider> {
  /** `https://127.0.0.1:<port>`: the host proxy, what clients connect to. */
  readonly url: string;
  readonly provider: P;
  readonly app: EnclaveApp;
  readonly proxy: HostProxy;
  /** Transcription requests admitted and not yet finished (uploading, queued or decoding). */
  inFlight(): number;
  /**
   * Stops accepting, lets running requests finish for the shutdown grace period (then aborts them), stops the
   * engine and removes the socket directory. Bounded in time whatever the clients do.
   */
  close(): Promise<void>;
}

/** Starts the simulation server: measurements (PCR16 as the NSM would hold it), CA, TLS identity, enclave app, host proxy. */
export async function startSimulationServer(options: ReferenceServerOptions = {}): Promise<ReferenceServer> {
  const service = serviceOf(options.engine, true);
  const pcrs = await measurePcrs({ engine: service.engine, model: service.model, version: service.version });
  pcrs.set(APPLICATION_PCR, applicationPcrValue(await measureApplication(applicationConfig(service, options))));
  const root = options.caDir === undefined ? undefined : await loadOrCreateSimulationRoot(options.caDir, (options.clock ?? (() => new Date()))());
  const provider = await SimulationAttestationProvider.create(pcrs, options.clock, root);
  return startReferenceServer(provider, service, options);
}

/**
 * Starts the server on the Nitro Secure Module: opens the device (NsmError `NSM_DEVICE_MISSING` outside an enclave),
 * extends and locks PCR16 with the engine's measurement, then the enclave app and host proxy as in simulation.
 */
export async function startNitroServer(options: ReferenceServerOptions & { readonly devicePath?: string } = {}): Promise<ReferenceServer<NsmAttestationProvider>> {
  const service = serviceOf(options.engine, false);
  let provider: NsmAttestationProvider | undefined;
  try {
    const measurement = await measureApplication(applicationConfig(service, options));
    provider = await NsmAttestationProvider.open(options.devicePath);
    await provider.measureAndLock(APPLICATION_PCR, measurement, applicationPcrValue(measurement));
  } catch (err) {
    provider?.close();
    await options.engine?.close();
    throw err;
  }
  const own = provider;
  try {
    const server = await startReferenceServer(own, service, options);
    return { ...server, close: () => server.close().finally(() => own.close()) };
  } catch (err) {
    own.close();
    throw err;
  }
}

function serviceOf(engine: TranscriptionEngine | undefined, simulation: boolean): ServiceInfo {
  return { service: 'blindbox', version: SERVER_VERSION, engine: engine?.name ?? 'none', model: engine?.model ?? 'none', simulation };
}

function applicationConfig(service: ServiceInfo, options: ReferenceServerOptions) {
  return { engine: service.engine, model: service.model, version: service.version, modelPaths: engineModelPaths(service.engine, options.whisperModelFile) };
}

/** TLS identity, enclave app and host proxy around an attestation provider. */
async function startReferenceServer<P extends AttestationProvider>(provider: P, service: ServiceInfo, options: ReferenceServerOptions): Promise<ReferenceServer<P>> {
  const engine = options.engine;
  const identity = await createTlsIdentity();
  // Made here, inside the enclave, at every start: a restart has a new key, and the attestation names it.
  const sealed = { keys: await generateHpkeKeyPair(), replays: new ReplayGuard() };
  const attested: ServiceInfo = { ...service, hpkePublicKey: sealed.keys.publicKey };
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-enclave-'));
  const transcription = engine ? transcriptionHandlers(engine, receiptIssuer(provider, service), options.limits, sealed) : undefined;
  const app = await startEnclaveApp({ provider, identity, service: attested, transcription, limits: options.connections, log: options.log }, { path: path.join(dir, 'enclave.sock') });
  let proxy: HostProxy;
  try {
    proxy = await startHostProxy({ host: '127.0.0.1', port: options.port ?? 0 }, app.target, options.proxy);
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
      // No new clients; those connected finish (or are aborted by the app after its grace period), then the workers stop.
      proxy.stopAccepting();
      await app.close();
      await proxy.close();
      await engine?.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
