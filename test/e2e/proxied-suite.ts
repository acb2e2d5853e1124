/**
 * A suite's world behind a CONNECT proxy: the reference server named `enclave.test`, which only the proxy resolves
 * (support/connect-proxy.ts maps it to 127.0.0.1), and code-server with the packaged extension, trusting the server,
 * whose `http.proxy` names that proxy.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
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

/** What code-server gets beyond the trusted server and `http.proxy`. */
export interface ProxiedCodeServer {
  /** More user settings. */
  readonly settings?: Record<string, unknown>;
  /** The system trusts the inspecting proxy's CA (NODE_EXTRA_CA_CERTS of code-server, and so of its extension host). */
  readonly trustProxyCa?: boolean;
}

/**
 * Starts it all; `prepare` fills the workspace before code-server opens it. If a part fails to start, what did start
 * is stopped before the error is thrown.
 */
export async function startProxiedSuite(
  label: string,
  proxyOptions: Omit<ConnectProxyOptions, 'hosts'>,
  prepare: (workspace: string) => void = () => undefined,
  codeServer: ProxiedCodeServer = {},
): Promise<ProxiedSuite> {
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
    const ca = path.join(parts.dir, 'inspection-ca.pem');
    if (codeServer.trustProxyCa) await writeFile(ca, parts.proxy.caCertificate!.toString());
    parts.server = await startCodeServer({
      workspace: parts.workspace,
      label,
      settings: { ...trustedSettings(parts.enclave), 'blindbox.serverUrl': `https://${parts.target}`, 'http.proxy': parts.proxy.url, ...codeServer.settings },
      env: codeServer.trustProxyCa ? { NODE_EXTRA_CA_CERTS: ca } : undefined,
    });
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
