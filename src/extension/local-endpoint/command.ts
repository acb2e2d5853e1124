/**
 * *BlindBox: Start Local Endpoint*: an OpenAI-compatible endpoint on loopback for other tools (an OpenAI SDK, an agent),
 * forwarding to the configured server only what it attests under this window's trust settings, and answering only
 * transcripts whose receipt verified. Its URL and token go to the clipboard (as OPENAI_BASE_URL and OPENAI_API_KEY
 * lines); asked again, the running one's are copied again. It stops with the window.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx.js';
import { describeFailure } from '../common/failure.js';
import type { WindowEndpoint } from './run.js';

/** The endpoint each window started, if any. */
const running = new WeakMap<Ctx, Promise<WindowEndpoint>>();

export async function startLocalEndpointCommand(ctx: Ctx): Promise<{ readonly baseUrl: string; readonly token: string } | undefined> {
  let started = running.get(ctx);
  try {
    if (started === undefined) {
      const settings = await ctx.settings.read();
      const server = settings.serverUrl;
      if (server === undefined) return undefined;
      const { localEndpoint } = await ctx.services();
      started = localEndpoint.startWindowEndpoint({ ...settings, serverUrl: server }, vscode.env.appRoot, (line) => ctx.log.info(`local endpoint: ${line}`));
      running.set(ctx, started);
      const { endpoint } = await started.catch((err: unknown) => {
        running.delete(ctx);
        throw err;
      });
      ctx.pushExtCleanup({ dispose: () => void endpoint.close() });
      ctx.log.info(`local endpoint ${endpoint.baseUrl} forwarding to ${server} (its token is on the clipboard, not in this log)`);
    }
    const { endpoint, token } = await started;
    await vscode.env.clipboard.writeText(`OPENAI_BASE_URL=${endpoint.baseUrl}\nOPENAI_API_KEY=${token}\n`);
    void vscode.window.showInformationMessage(`BlindBox: local endpoint at ${endpoint.baseUrl}; its URL and token are on the clipboard. It forwards only to the attested server and stops with this window.`);
    return { baseUrl: endpoint.baseUrl, token };
  } catch (err) {
    ctx.notifications.showFailure(describeFailure(err));
    return undefined;
  }
}
