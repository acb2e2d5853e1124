/**
 * *Pin the Server's PCR…*, offered on PCR_MISMATCH (the notification, the attestation view, the BlindBox view): shows
 * the value the server attested in full beside the one the policy expects, asks in a modal, writes the policy into the
 * user's settings the way *Configure Server… › Pin PCR0* does, and verifies again. The value comes from the trust state
 * (the core's refusal), never from a message a webview posted.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx.js';
import type { VerifySummary } from '../verification.js';
import { oneLine } from '../../shared/text.js';
import { SETTING_KEYS } from '../ids.js';
import { PCR_EXPLAINED, pinLabel, simulationRoot, simulationSentence, stateMismatch } from '../trust/checks.js';
import { write } from './configure-server.js';

export async function pinAttestedPcr(ctx: Ctx): Promise<VerifySummary | undefined> {
  const state = ctx.trust.state;
  const mismatch = stateMismatch(state);
  if (state.kind !== 'failed' || !state.server || !mismatch?.actual) {
    void vscode.window.showInformationMessage('BlindBox: there is no PCR mismatch to pin: the last verification did not refuse a PCR the server attested.');
    return undefined;
  }
  const { server, policy } = state;
  const { actual, index } = mismatch;
  const pin = pinLabel(index).replace(/…$/, '');
  const simulation = simulationRoot(state);
  const detail = [
    `${oneLine(server, 200)} attested PCR${index}:`,
    actual,
    '',
    `The policy${policy ? ` “${oneLine(policy.name, 80)}”` : ''} expects:`,
    mismatch.expected,
    mismatch.sentence,
    '',
    `Pinning writes blindbox.policy in your user settings with this PCR${index} and verifies again. Pin it only if it is the image you expect (after a rebuild, compare with nitro-cli describe-eif): a server attests whatever image it runs.`,
    PCR_EXPLAINED,
    ...(simulation !== undefined ? ['', `SIMULATION — not confidential. ${simulationSentence(simulation)}`] : []),
  ].join('\n');
  const answer = await vscode.window.showWarningMessage(`BlindBox: pin the server's PCR${index}?`, { modal: true, detail }, pin);
  if (answer !== pin) return undefined;
  const { setup } = await ctx.services();
  const pinned = setup.repinnedPolicy(policy, server, index, actual);
  return ctx.verification.afterWriting(async () => {
    await write(SETTING_KEYS.policy, pinned);
    await write(SETTING_KEYS.policyFile, undefined);
    ctx.log.info(`pinned PCR${index} ${actual} of ${server} in blindbox.policy ${JSON.stringify(pinned.name)} (your user settings)`);
  });
}
