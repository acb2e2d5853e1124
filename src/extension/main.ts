/**
 * Entry point: activate builds the one `Ctx`, registers the commands and
 * returns a small API (activation timings and state, read by the tests and the
 * benchmark). Heavy modules load later, on first use (ctx.ts `services()`).
 */
import * as vscode from 'vscode';
import { oneLine } from '../shared/text.js';
import { registerCommands } from './commands.js';
import { Ctx } from './ctx.js';
import type { TrustKind } from './trust/trust-state.js';

/** Set by the bundle's first statement (the esbuild banner in bundle-extension.mjs); undefined when run unbundled. */
declare const __blindboxBundleStart: number | undefined;

/** What `vscode.extensions.getExtension('blindbox.blindbox-vscode').exports` holds. */
export interface BlindBoxApi {
  readonly activation: {
    /** Evaluating the bundle's modules, up to (not including) `activate`. */
    readonly bundleEvaluationMs: number;
    /** The `activate` call itself. */
    readonly activateMs: number;
  };
  state(): { readonly kind: TrustKind; readonly statusText: string };
}

const bundleEvaluatedAt = performance.now();
const bundleEvaluationStart = typeof __blindboxBundleStart === 'number' ? __blindboxBundleStart : bundleEvaluatedAt;
let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): BlindBoxApi {
  const start = performance.now();
  try {
    const c = new Ctx(context);
    ctx = c;
    c.pushExtCleanup(...registerCommands(c));
    c.init();
  } catch (err) {
    // VS Code shows nothing when activation fails, so say it here.
    void vscode.window.showErrorMessage(`Cannot activate BlindBox: ${oneLine(err instanceof Error ? err.message : String(err))}`);
    throw err;
  }
  const activation = { bundleEvaluationMs: round(bundleEvaluatedAt - bundleEvaluationStart), activateMs: round(performance.now() - start) };
  ctx.log.info(`activated in ${activation.activateMs} ms (bundle evaluated in ${activation.bundleEvaluationMs} ms)`);
  const owner = ctx;
  return { activation, state: () => ({ kind: owner.trust.state.kind, statusText: owner.statusText }) };
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
  ctx = undefined;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
