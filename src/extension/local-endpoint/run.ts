/**
 * *BlindBox: Start Local Endpoint* without the editor: the core's local endpoint (core/local-endpoint/) on a free
 * loopback port, attesting the configured server under this window's trust settings and route, with a new token.
 */
import { startLocalEndpoint, type LocalEndpoint } from '../../core/local-endpoint/endpoint.js';
import { newBearerToken } from '../../core/local-endpoint/bearer.js';
import { DEFAULT_LISTEN, parseListenAddress } from '../../core/local-endpoint/listen-address.js';
import { connectingSource } from '../../core/local-endpoint/upstream.js';
import type { ExtensionSettings } from '../settings/model.js';
import { windowConnection } from '../trust/window-connection.js';

/** A running endpoint and the token its callers must send. */
export interface WindowEndpoint {
  readonly endpoint: LocalEndpoint;
  readonly token: string;
}

/** Starts the endpoint for `settings.serverUrl` (which must be set). Throws `SettingsError` when a trust file cannot be read. */
export async function startWindowEndpoint(settings: ExtensionSettings & { serverUrl: string }, appRoot: string | undefined, log: (line: string) => void): Promise<WindowEndpoint> {
  const token = newBearerToken();
  const upstream = connectingSource(settings.serverUrl, { ...(await windowConnection(settings, appRoot)), log });
  const endpoint = await startLocalEndpoint({ listen: parseListenAddress(DEFAULT_LISTEN), token, upstream, log });
  return { endpoint, token };
}
