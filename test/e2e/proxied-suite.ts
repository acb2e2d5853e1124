/**
 * A suite's world behind a CONNECT proxy: the reference server named `enclave.test`, which only the proxy resolves
 * (support/connect-proxy.ts maps it to 127.0.0.1), and code-server with the packaged extension, trusting the server,
 * whose `http.proxy` names that proxy.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ENCLAVE_NAME, startConnectProxy, type ConnectProxy, type ConnectProxyOptions } from '../../support/connect-proxy.js';
import { startEnclave, type Enclave } from './enclave.js';
import { VSIX, endSuite, requireBuilt, trustedSettings } from './extension-fixture.js';
import { openWorkbench, startCodeServer, type CodeServer, type Workbench } from './harness.js';

export interface ProxiedSuite {
  readonly dir: string;
  readonly workspace: string;
  readonly enclave: Enclave;
  readonly proxy: ConnectProxy;
  /** `enclave.test:<port>`. */
  readonly target: string;
  readonly server: CodeServer;
  readonly wb: Workbench;
}

/**
 * Starts it all; `prepare` fills the workspace before code-server opens it. If a part fails to start, what did start
 * is stopped before the error is thrown.
 */
export async function startProxiedSuite(label: string, proxyOptions: Omit<ConnectProxyOptions, 'hosts'>, prepare: (workspace: string) => void = () => undefined): Promise<ProxiedSuite> {
  requireBuilt();
  const parts: { -readonly [K in keyof ProxiedSuite]?: ProxiedSuite[K] } = {};
  try {
    parts.dir = await mkdtemp(path.join(tmpdir(), `blindbox-e2e-${label}-`));
    parts.workspace = path.join(parts.dir, 'workspace');
    await mkdir(parts.workspace, { recursive: true });
    prepare(parts.workspace);
    parts.enclave = await startEnclave(parts.dir);
    parts.target = `${ENCLAVE_NAME}:${new URL(parts.enclave.url).port}`;
    parts.proxy = await startConnectProxy({ hosts: { [ENCLAVE_NAME]: '127.0.0.1' }, ...proxyOptions });
    parts.server = await startCodeServer({ workspace: parts.workspace, label, settings: { ...trustedSettings(parts.enclave), 'blindbox.serverUrl': `https://${parts.target}`, 'http.proxy': parts.proxy.url } });
    await parts.server.installVsix(VSIX);
    parts.wb = await openWorkbench(parts.server);
    return parts as ProxiedSuite;
  } catch (err) {
    await endProxiedSuite(parts);
    throw err;
  }
}

/** Stops what `startProxiedSuite` started (whatever part of it did start). */
export async function endProxiedSuite(suite: Partial<ProxiedSuite>): Promise<void> {
  await suite.proxy?.close();
  await endSuite(suite);
}
