/**
 * *BlindBox: Configure Server…* and *BlindBox: Trust a Root Certificate…*: the guided setup. It asks for the server
 * (validated as the setting is), offers to trust a root certificate (file or pasted PEM; anything but AWS's root only
 * after the loud SIMULATION explanation), optionally a policy (PCR0 or a policy file), writes the answers to the
 * user's settings (the trust settings are application-scoped: `ConfigurationTarget.Global`, read in every window) and
 * verifies. The decisions are in model.ts; this module only asks and writes.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../ctx.js';
import type { VerifySummary } from '../verification.js';
import { oneLine } from '../../shared/text.js';
import { ExtensionError } from '../common/errors.js';
import { SETTING_KEYS } from '../ids.js';
import { readPickedFile } from '../files/picked.js';
import type { SetupServices } from '../services.js';
import type { RootCandidate } from './model.js';
import { attestedPcr, policyRefused } from '../trust/checks.js';

type Setup = SetupServices;

const TITLE = 'BlindBox: Configure Server';

/** The whole setup; undefined when the user cancelled a step (nothing is written then). */
export async function configureServer(ctx: Ctx): Promise<VerifySummary | undefined> {
  const { setup } = await ctx.services();
  const config = vscode.workspace.getConfiguration();
  const current = ctx.settings.serverUrl();
  const url = await vscode.window.showInputBox({
    title: `${TITLE} (1/3): server`,
    prompt: 'The https:// origin of the BlindBox server. Audio goes there only after it proves it is the enclave you expect.',
    placeHolder: 'https://enclave.example.com:8443',
    value: current ?? '',
    ignoreFocusOut: true,
    validateInput: (text) => setup.serverUrlProblem(text),
  });
  if (url === undefined) return undefined;
  const serverUrl = setup.parseServerUrl(url)!;

  const roots = await askRoots(setup, config.inspect<unknown[]>(SETTING_KEYS.trustedRoots)?.globalValue, `${TITLE} (2/3): trust`);
  if (roots === undefined) return undefined;

  const policy = await askPolicy(setup, ctx, serverUrl, roots.list);
  if (policy === undefined) return undefined;

  const chosen = policy.policy;
  return ctx.verification.afterWriting(async () => {
    await write(SETTING_KEYS.serverUrl, serverUrl);
    await write(SETTING_KEYS.trustedRoots, policy.roots);
    if (chosen !== 'keep') {
      await write(SETTING_KEYS.policy, chosen);
      await write(SETTING_KEYS.policyFile, undefined);
    }
    ctx.log.info(`configured ${serverUrl} in your user settings (${policy.roots.length} extra root(s), policy ${chosen === 'keep' ? 'unchanged' : JSON.stringify(chosen.name ?? 'default')})`);
  });
}

/**
 * *Trust a Root Certificate…* alone, then verifies again. Offered on CHAIN_UNTRUSTED with the root the server presented
 * (`presented`): when that is a new BlindBox simulation root and an old one is trusted, it offers to replace the old one.
 */
export async function trustRootCommand(ctx: Ctx, presented?: unknown): Promise<VerifySummary | undefined> {
  const { setup } = await ctx.services();
  const existing = vscode.workspace.getConfiguration().inspect<unknown[]>(SETTING_KEYS.trustedRoots)?.globalValue;
  const candidate = setup.presentedRoot(presented);
  const replacement = candidate && setup.simulationReplacement(existing, candidate);
  if (replacement) {
    if (!(await confirmReplacement(setup, replacement))) return undefined;
    return ctx.verification.afterWriting(async () => {
      await write(SETTING_KEYS.trustedRoots, replacement.list);
      ctx.log.info(`replaced ${replacement.removed.length} simulation root(s) with ${replacement.added.sha256} in blindbox.trustedRoots`);
    });
  }
  const roots = await askRoots(setup, existing, 'BlindBox: Trust a Root Certificate', false);
  if (roots === undefined || !roots.changed) return undefined;
  const list = roots.list;
  return ctx.verification.afterWriting(async () => {
    await write(SETTING_KEYS.trustedRoots, list);
  });
}

/**
 * The user's settings: application scope is written at the Global target, which every window reads. In a remote window
 * VS Code sends a Global write to the remote machine's settings instead whenever that file holds the key (code-server
 * 4.100 / VS Code 1.100: `toEditableConfigurationTarget` picks USER_REMOTE when `inspect(key).userRemoteValue` is set),
 * and there an application-scoped value is ignored. Removing the key at Global takes it out of that file (nothing
 * read it), after which the write reaches the user's own settings.
 */
export async function write(key: string, value: unknown): Promise<void> {
  const update = (v: unknown) => vscode.workspace.getConfiguration().update(key, v, vscode.ConfigurationTarget.Global);
  const stored = () => JSON.stringify(vscode.workspace.getConfiguration().inspect(key)?.globalValue) === JSON.stringify(value);
  await update(value);
  if (stored()) return;
  await update(undefined);
  await update(value);
  if (!stored()) {
    throw new ExtensionError('SETTINGS_INVALID', `The setting ${key} did not reach your user settings (a remote machine's settings that hold it win the write, and BlindBox ignores them there): remove the blindbox.* entries from the Remote settings and run Configure Server… again.`);
  }
}

interface PickItem<T> extends vscode.QuickPickItem {
  readonly value: T;
}

async function pick<T>(title: string, placeHolder: string, items: PickItem<T>[]): Promise<T | undefined> {
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder, ignoreFocusOut: true });
  return picked?.value;
}

/** Asks which roots to trust; the new `blindbox.trustedRoots` list, or undefined when cancelled. */
async function askRoots(setup: Setup, existing: unknown, title: string, offerKeep = true): Promise<{ list: string[]; changed: boolean } | undefined> {
  const list = Array.isArray(existing) ? existing.filter((e): e is string => typeof e === 'string') : [];
  type Choice = 'aws' | 'keep' | 'file' | 'paste';
  const items: PickItem<Choice>[] = [
    ...(offerKeep && list.length > 0 ? [{ value: 'keep' as const, label: `$(check) Keep the ${list.length} root certificate(s) already trusted`, description: 'blindbox.trustedRoots unchanged' }] : []),
    { value: 'aws', label: '$(verified) AWS Nitro Enclaves only', description: 'the built-in AWS Nitro Enclaves Root G1: genuine enclaves only', detail: list.length > 0 ? 'Removes the extra roots from blindbox.trustedRoots.' : undefined },
    { value: 'file', label: '$(file) Trust a root certificate file…', description: 'PEM, e.g. from blindbox serve --simulate --trust-out' },
    { value: 'paste', label: '$(clippy) Paste a root certificate (PEM)…', description: '-----BEGIN CERTIFICATE----- …' },
  ];
  const choice = await pick(title, 'Which root certificates may an attestation chain to?', items);
  if (choice === undefined) return undefined;
  if (choice === 'keep') return { list, changed: false };
  if (choice === 'aws') return { list: [], changed: list.length > 0 };
  const candidate = choice === 'file' ? await rootFromFile(setup) : await rootFromPaste(setup);
  if (!candidate) return undefined;
  const replacement = setup.simulationReplacement(list, candidate);
  if (replacement) return (await confirmReplacement(setup, replacement)) ? { list: replacement.list, changed: true } : undefined;
  if (!(await acceptSimulation(setup, candidate))) return undefined;
  const pems = candidate.pems.filter((_, i) => !candidate.roots[i]!.isAwsNitroRoot);
  if (pems.length === 0) void vscode.window.showInformationMessage('BlindBox: that is the AWS Nitro Enclaves Root G1, which is built in: nothing to add.');
  return { list: setup.withRoots(list, pems), changed: true };
}

async function rootFromFile(setup: Setup): Promise<RootCandidate | undefined> {
  const picked = await vscode.window.showOpenDialog({
    canSelectMany: false,
    canSelectFiles: true,
    filters: { 'PEM certificates': ['pem', 'crt', 'cer'], 'All files': ['*'] },
    openLabel: 'Trust',
    title: 'BlindBox: root certificate to trust (PEM)',
  });
  const file = picked?.[0];
  if (!file) return undefined;
  try {
    const bytes = await readPickedFile(setup, file, setup.MAX_ROOT_FILE_BYTES, 'root certificate file');
    return setup.rootCandidate(new TextDecoder().decode(bytes), file.fsPath);
  } catch (err) {
    void vscode.window.showErrorMessage(`BlindBox: cannot trust ${oneLine(file.fsPath, 200)}: ${oneLine(err instanceof Error ? err.message : String(err))}`);
    return undefined;
  }
}

async function rootFromPaste(setup: Setup): Promise<RootCandidate | undefined> {
  const text = await vscode.window.showInputBox({
    title: 'BlindBox: paste the root certificate (PEM)',
    prompt: 'The whole PEM block; line breaks may be pasted as spaces.',
    placeHolder: '-----BEGIN CERTIFICATE----- MIIC… -----END CERTIFICATE-----',
    ignoreFocusOut: true,
    validateInput: (value) => {
      try {
        setup.rootCandidate(pemFromOneLine(value), 'pasted certificate');
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    },
  });
  return text === undefined ? undefined : setup.rootCandidate(pemFromOneLine(text), 'pasted certificate');
}

/** An input box gives one line: put the PEM block's own line breaks back around the base64. */
function pemFromOneLine(text: string): string {
  return text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '\n-----$1 CERTIFICATE-----\n');
}

/** The SIMULATION explanation, modal, for any root that is not AWS's; true when the user still trusts it. */
async function acceptSimulation(setup: Setup, candidate: RootCandidate): Promise<boolean> {
  if (candidate.simulation.length === 0) return true;
  return confirmed('BlindBox: this is not an AWS Nitro root', setup.simulationWarning(candidate), 'Do Not Trust', 'Trust as SIMULATION root');
}

/** Replacing the old simulation root(s), modal; true when the user replaces them. */
async function confirmReplacement(setup: Setup, replacement: NonNullable<ReturnType<Setup['simulationReplacement']>>): Promise<boolean> {
  return confirmed('BlindBox: replace the old simulation root?', setup.replacementWarning(replacement), 'Keep the Old Root', 'Replace the Old Simulation Root');
}

/**
 * A modal question whose default answer is `safe`: a dialog's first button has the focus (Enter presses it), so the
 * one that trusts more comes second, and Escape or Cancel answer as `safe` does.
 */
async function confirmed(message: string, detail: string, safe: string, act: string): Promise<boolean> {
  const answer = await vscode.window.showWarningMessage(message, { modal: true, detail }, safe, act);
  return answer === act;
}

/** Asks for the policy; `roots` may grow when a policy file names roots. */
async function askPolicy(
  setup: Setup,
  ctx: Ctx,
  serverUrl: string,
  roots: string[],
): Promise<{ policy: 'keep' | { name?: string; pcrs?: Record<string, string>; maxAgeSeconds?: number }; roots: string[] } | undefined> {
  type Choice = 'keep' | 'none' | 'pcr0' | 'file';
  const state = ctx.trust.state;
  const configured = setup.configuredPolicyLabel(state, ctx.settings.raw());
  // The policy the server was just refused under is offered last, never first (the first item is preselected).
  const refused = policyRefused(state);
  const keep: PickItem<Choice>[] = configured
    ? [{ value: 'keep', label: refused ? '$(error) Keep the current policy (the server was just refused under it)' : '$(check) Keep the current policy', description: configured }]
    : [];
  const attested = attestedPcr(state, serverUrl, 0);
  const items: PickItem<Choice>[] = [
    ...(refused ? [] : keep),
    { value: 'pcr0', label: '$(pinned) Pin PCR0…', description: attested ? `pre-filled with the PCR0 this server attested: ${attested.slice(0, 16)}…` : 'accept only the enclave image you built (recommended)' },
    { value: 'file', label: '$(file-code) Copy a policy file…', description: '{"name", "pcrs", "maxAgeSeconds", "roots"}, as the blindbox CLI reads it' },
    { value: 'none', label: '$(warning) No PCR pinned', description: 'any code in a genuine enclave is accepted' },
    ...(refused ? keep : []),
  ];
  const choice = await pick(`${TITLE} (3/3): expected code`, 'Which code must the enclave run?', items);
  if (choice === undefined) return undefined;
  if (choice === 'keep') return { policy: 'keep', roots };
  if (choice === 'none') return { policy: {}, roots };
  if (choice === 'pcr0') {
    const hex = await vscode.window.showInputBox({
      title: `${TITLE}: PCR0`,
      prompt: attested
        ? 'PCR0 of the enclave image: pre-filled with the value this server attested. Keep it only if it is the image you expect (nitro-cli describe-eif prints it).'
        : 'PCR0 of the enclave image (nitro-cli describe-eif prints it; blindbox serve --simulate logs it).',
      value: attested ?? '',
      ignoreFocusOut: true,
      validateInput: (text) => setup.pcr0Problem(text),
    });
    return hex === undefined ? undefined : { policy: setup.pinnedPolicy(serverUrl, hex), roots };
  }
  const picked = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFiles: true, filters: { 'Policy JSON': ['json'] }, openLabel: 'Use policy', title: 'BlindBox: policy file' });
  const file = picked?.[0];
  if (!file) return undefined;
  let loaded: Awaited<ReturnType<Setup['loadPolicyFile']>>;
  try {
    loaded = await setup.loadPolicyFile(file.fsPath);
  } catch (err) {
    void vscode.window.showErrorMessage(`BlindBox: ${oneLine(err instanceof Error ? err.message : String(err))}`);
    return undefined;
  }
  // The file's roots are copied inline too, with the same warning for any that is not AWS's.
  const pems = loaded.roots.filter((r) => !r.isAwsNitroRoot).map((r) => setup.derToPem(r.der));
  if (pems.length > 0) {
    const candidate = setup.rootCandidate(pems.join(''), file.fsPath);
    if (!(await acceptSimulation(setup, candidate))) return undefined;
  }
  return { policy: setup.inlinePolicy(loaded.policy), roots: setup.withRoots(roots, pems) };
}
