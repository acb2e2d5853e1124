/**
 * The command table: which command runs which flow. Every command always exists, so the user never sees "command
 * not found"; each flow reports its own failures, and this table is the net for bugs.
 */
import * as vscode from 'vscode';
import type { Ctx } from './ctx.js';
import type { VerifySummary } from './verification.js';
import { exportEvidence } from './evidence/export.js';
import { describeFailure } from './common/failure.js';
import { COMMANDS } from './ids.js';
import { saveTranscriptWithReceipt } from './receipts/save.js';
import { verifyReceiptCommand } from './receipts/verify.js';
import { transcribeCommand } from './transcribe/command.js';
import { networkDiagnosticsCommand } from './diagnose/command.js';
import { startLocalEndpointCommand } from './local-endpoint/command.js';
import { setupCommands, whenConfigured } from './setup/commands.js';

/** The sample the walkthrough transcribes (shipped in the .vsix): a few sentences of flite speech. */
const SAMPLE = ['media', 'sample.wav'] as const;

/** Registers every command; the disposables go to the context's lifetime list. */
export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  const table: Record<string, (...args: unknown[]) => unknown> = {
    [COMMANDS.transcribe]: (uri?: unknown, uris?: unknown) => whenConfigured(ctx, () => transcribeCommand(ctx, uri, uris)),
    [COMMANDS.transcribeFromExplorer]: (uri?: unknown, uris?: unknown) => whenConfigured(ctx, () => transcribeCommand(ctx, uri, uris)),
    [COMMANDS.transcribeSample]: () => whenConfigured(ctx, () => transcribeCommand(ctx, ctx.extensionFile(...SAMPLE), undefined)),
    [COMMANDS.verify]: (): Promise<VerifySummary> => ctx.verification.verify('command'),
    [COMMANDS.showAttestation]: () => ctx.showAttestation(),
    [COMMANDS.exportEvidence]: (target?: unknown) => exportEvidence(ctx, target !== undefined),
    [COMMANDS.saveTranscriptWithReceipt]: () => saveTranscriptWithReceipt(ctx),
    [COMMANDS.verifyReceipt]: () => verifyReceiptCommand(ctx),
    [COMMANDS.showLog]: () => ctx.log.show(),
    [COMMANDS.networkDiagnostics]: () => whenConfigured(ctx, () => networkDiagnosticsCommand(ctx)),
    [COMMANDS.startLocalEndpoint]: () => whenConfigured(ctx, () => startLocalEndpointCommand(ctx)),
    // Configure Server…, Trust a Root…, the walkthrough.
    ...setupCommands(ctx),
  };
  const registered = Object.entries(table).map(([id, run]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await run(...args);
      } catch (err) {
        // Flows report their own failures; this is the net for bugs.
        ctx.log.error(`${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        ctx.notifications.showFailure(describeFailure(err));
        return undefined;
      }
    }),
  );
  return registered;
}
