/**
 * The setup commands' entries in the command table (commands.ts), and the guard that makes a flow needing a server
 * offer *Configure Server…* first instead of asking for a file and failing after it.
 */
import * as vscode from 'vscode';
import { configureServer, trustRootCommand } from './configure-server.js';
import { pinAttestedPcr } from './pin-pcr.js';
import type { Ctx } from '../ctx.js';
import { COMMANDS } from '../ids.js';
import { openWalkthrough } from './walkthrough.js';

export function setupCommands(ctx: Ctx): Record<string, (...args: unknown[]) => unknown> {
  return {
    [COMMANDS.configureServer]: () => configureServer(ctx),
    [COMMANDS.trustRoot]: (presented?: unknown) => trustRootCommand(ctx, presented),
    [COMMANDS.pinAttestedPcr]: () => pinAttestedPcr(ctx),
    [COMMANDS.openWalkthrough]: () => openWalkthrough(),
  };
}

/**
 * Runs `flow` when a server is set; otherwise says so with *Configure Server…* (which then runs the flow once the
 * setup verified). Cheap: reads one setting, loads nothing.
 */
export async function whenConfigured<T>(ctx: Ctx, flow: () => Promise<T>): Promise<T | undefined> {
  if (ctx.settings.serverUrl()) return flow();
  const configure = 'Configure Server…';
  const pick = await vscode.window.showWarningMessage('BlindBox: no server is configured yet. Audio goes only to a server that proves it is the enclave you expect.', configure);
  if (pick !== configure) return undefined;
  const verified = await configureServer(ctx);
  return verified?.kind === 'verified' ? flow() : undefined;
}
