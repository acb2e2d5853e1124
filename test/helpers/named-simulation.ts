/**
 * `serve --simulate` addressed as `enclave.test` (support/connect-proxy.ts's ENCLAVE_NAME), a name only the test's
 * CONNECT proxies resolve: the CLI's proxy tests start one per file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServe, type ServeProcess } from '../../support/cli.js';
import { ENCLAVE_NAME } from '../../support/connect-proxy.js';

export interface NamedSimulation {
  readonly serve: ServeProcess;
  /** The simulation root the server wrote, for `--trust-root`. */
  readonly rootPem: string;
  /** `enclave.test:<port>`. */
  readonly hostPort: string;
  /** `https://enclave.test:<port>`. */
  readonly named: string;
  /** Stops the server and removes its folder. */
  close(): Promise<void>;
}

/** Starts `blindbox serve --simulate …serveArgs` with its root in a fresh temporary folder. */
export async function startNamedSimulation(serveArgs: readonly string[]): Promise<NamedSimulation> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-named-'));
  const rootPem = path.join(dir, 'root.pem');
  const serve = await startServe(['--simulate', ...serveArgs, '--trust-out', rootPem]);
  const hostPort = `${ENCLAVE_NAME}:${new URL(serve.url).port}`;
  return {
    serve,
    rootPem,
    hostPort,
    named: `https://${hostPort}`,
    async close() {
      await serve.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
