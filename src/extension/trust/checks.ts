/**
 * The one wording of the three checks (genuine hardware, expected code, channel bound), of SIMULATION and of a PCR
 * mismatch, in every state, for every surface: the attestation view, the BlindBox view, the status bar and the
 * notifications all read these and re-derive nothing. Facts only come from the trust state: the enclaves the session
 * verified, or the refusal as the core made it (`Failure.chainRoot`, `Failure.pcr`). A chain that ended in a root other
 * than AWS's is SIMULATION here whether the attestation then passed or failed. Pure, and light enough for the entry
 * bundle (no core at run time).
 */
import type { ChainRootFact } from '../../core/errors.js';
import type { ProxyRoute } from '../../core/transport/proxy-route.js';
import { firstDifference, markDifference } from '../../shared/difference.js';
import { failedCheck, type Failure } from '../common/failure.js';
import { inspectionSentence, NO_PCR_PINNED, relativeAge } from './summary.js';
import { oneLine } from '../../shared/text.js';
import type { PolicyInfo, TrustState } from './trust-state.js';

/** The three questions a person asks, in the order they are checked. */
export type CheckId = 'hardware' | 'code' | 'channel';
/** `pass`: established; `warn`: established, with a caveat the user must know; `fail`: refused; `unknown`: not checked. */
export type CheckState = 'pass' | 'warn' | 'fail' | 'unknown';

export interface CheckView {
  readonly id: CheckId;
  readonly title: string;
  readonly state: CheckState;
  /** "Passed", "SIMULATION", "Warning", "FAILED", "Not checked". */
  readonly stateText: string;
  readonly summary: string;
  /** The facts behind it, one line each. */
  readonly facts: readonly string[];
}

/** What SIMULATION is called on short surfaces (status tooltip, BlindBox view, notifications). */
export const SIMULATION_TITLE = 'SIMULATION — not confidential';

/** PCRs and the nonce in plain words, for whoever meets them in a view or a tooltip. */
export const PCR_EXPLAINED = 'PCRs are fingerprints (SHA-384) of what the enclave booted: PCR0 the whole enclave image, PCR1 its kernel, PCR2 the application. Pinning PCR0 accepts only the image you built.';
export const NONCE_EXPLAINED = 'The nonce is a random number BlindBox sends with each request: the document must repeat it, which proves it was made just now and is not a replay.';

/** The root the state's chain ended in: the verified enclaves', or the refusal's when it came after the chain was proven. */
export function chainRootOf(state: TrustState): ChainRootFact | undefined {
  if (state.kind === 'verified') {
    const e = state.enclaves.find((x) => x.simulation) ?? state.enclaves[0];
    return { label: e.attestation.root.label, simulation: e.simulation };
  }
  if (state.kind !== 'failed') return undefined;
  const observed = state.observed;
  return state.failure.chainRoot ?? (observed ? { label: observed.attestation.root.label, simulation: observed.simulation } : undefined);
}

/** The simulation root's label when the state is SIMULATION (verified or failed), else undefined. */
export function simulationRoot(state: TrustState): string | undefined {
  const root = chainRootOf(state);
  return root?.simulation ? root.label : undefined;
}

/** One sentence for SIMULATION, said the same way everywhere. */
export function simulationSentence(rootLabel: string): string {
  return `The attestation chains to “${rootLabel}”, a simulation root you trusted, not to AWS Nitro: no enclave hardware protects the audio.`;
}

/** The attestation view's loud banner. */
export function simulationBanner(rootLabel: string): string {
  return `SIMULATION — NOT CONFIDENTIAL. This server’s attestation comes from a simulation root (“${rootLabel}”), not from AWS Nitro Enclaves hardware. Nothing protects the audio from the machine’s operator: use it for testing only.`;
}

/** A PCR mismatch as every surface shows it: both values in full, and where they first differ. */
export interface PcrMismatchView {
  readonly index: number;
  /** What the server attested (full hex), or null when the document lacks the PCR. */
  readonly actual: string | null;
  readonly expected: string;
  /** Index of the first differing digit (0-based); null when the PCR is absent. */
  readonly at: number | null;
  /** One line each, the first difference marked: "…2067f4d8[3]a91c0e2b…". */
  readonly actualMarked: string;
  readonly expectedMarked: string;
  /** "PCR0 differs from digit 41 on." or "PCR7 is absent from the document." */
  readonly sentence: string;
  /** The pin action's name, or null when there is no attested value to pin. */
  readonly pinLabel: string | null;
}

/** The pin action's name, the same on the notification, in the attestation view and in the BlindBox view. */
export function pinLabel(index: number): string {
  return `Pin the server's PCR${index}…`;
}

/** The mismatch behind a failure, when it is one (the core's facts, not re-derived). */
export function pcrMismatchOf(failure: Failure): PcrMismatchView | undefined {
  const pcr = failure.pcr;
  if (!pcr) return undefined;
  if (pcr.actual === null) {
    return { index: pcr.index, actual: null, expected: pcr.expected, at: null, actualMarked: '(absent)', expectedMarked: pcr.expected, sentence: `PCR${pcr.index} is absent from the document.`, pinLabel: null };
  }
  const at = firstDifference(pcr.actual, pcr.expected);
  return {
    index: pcr.index,
    actual: pcr.actual,
    expected: pcr.expected,
    at,
    actualMarked: markDifference(pcr.actual, at),
    expectedMarked: markDifference(pcr.expected, at),
    sentence: `PCR${pcr.index} differs from digit ${at + 1} on.`,
    pinLabel: pinLabel(pcr.index),
  };
}

/** The mismatch of a failed state, if it is one. */
export function stateMismatch(state: TrustState): PcrMismatchView | undefined {
  return state.kind === 'failed' ? pcrMismatchOf(state.failure) : undefined;
}

/**
 * The value of PCR `index` that `server` attested, as the state knows it: the enclave it verified, or, refused, the
 * core's mismatch or the diagnostic document. Undefined for another server (a pre-filled value must be that server's).
 */
export function attestedPcr(state: TrustState, server: string, index: number): string | undefined {
  if (state.kind === 'verified') return state.server === server ? state.enclaves[0].attestation.pcrs[index] : undefined;
  if (state.kind !== 'failed' || state.server !== server) return undefined;
  const pcr = state.failure.pcr;
  if (pcr?.index === index && pcr.actual) return pcr.actual;
  return state.observed?.attestation.pcrs[index];
}

/** Whether the state is a refusal of the policy itself (the code check): a setup must not offer to keep that policy first. */
export function policyRefused(state: TrustState): boolean {
  return state.kind === 'failed' && failedCheck(state.failure.code) === 'code';
}

const CHECK_TITLES: Record<CheckId, string> = { hardware: 'Genuine hardware', code: 'Expected code', channel: 'Channel bound' };
const STATE_TEXT: Record<CheckState, string> = { pass: 'Passed', warn: 'Warning', fail: 'FAILED', unknown: 'Not checked' };

function check(id: CheckId, state: CheckState, summary: string, facts: readonly string[] = [], stateText = STATE_TEXT[state]): CheckView {
  return { id, title: CHECK_TITLES[id], state, stateText, summary, facts };
}

/** The hardware check when the chain ended in a simulation root: a warning, never a pass, in every state. */
function simulationHardware(rootLabel: string, facts: readonly string[]): CheckView {
  return check('hardware', 'warn', `SIMULATION: the chain ends in “${rootLabel}”, a root you trusted, not AWS Nitro Enclaves Root G1. No enclave hardware protects the audio.`, facts, 'SIMULATION');
}

/** The three checks of `state` at `now` (ms); empty before any result. */
export function trustChecks(state: TrustState, now: number): CheckView[] {
  if (state.kind === 'verified') return verifiedChecks(state, now);
  if (state.kind === 'failed') return failedChecks(state);
  return [];
}

/** The three checks of a verified state: all were enforced by the session (it exists only once they passed). */
function verifiedChecks(state: Extract<TrustState, { kind: 'verified' }>, t: number): CheckView[] {
  const enclaves = state.enclaves;
  const n = enclaves.length;
  const each = n === 1 ? '' : ` (all ${n} enclaves)`;
  const roots = [...new Set(enclaves.map((e) => e.attestation.root.label))].join(', ');
  const newest = Math.max(...enclaves.map((e) => e.attestation.timestamp));
  const pinned = Object.keys(state.policy.pcrs).map(Number).sort((a, b) => a - b);
  const simulation = simulationRoot(state);
  const inspection = inspectionSentence(enclaves);
  return [
    simulation !== undefined
      ? simulationHardware(simulation, [`Root: ${roots}`, 'Document signed by its chain, fresh, and answering our nonce'])
      : check('hardware', 'pass', `A real AWS Nitro enclave${each}: the document's certificate chain ends in the AWS Nitro Enclaves Root G1.`, [
          'Signature verified against the chain',
          `Document fresh: made ${relativeAge(t - newest)}`,
          'Nonce: the document answers the one we sent (so it was made just now, not replayed)',
        ]),
    pinned.length === 0
      ? check('code', 'warn', `Policy “${quotedName(state.policy)}”: ${NO_PCR_PINNED}. Any code running in a genuine enclave would pass.`, [`Pin PCR0–PCR2 (BlindBox: Configure Server…) to accept only your build.`])
      : check('code', 'pass', `Every pinned PCR (fingerprint of the code the enclave booted) matches the policy “${quotedName(state.policy)}”${each}.`, [`Pinned: ${pinned.map((i) => `PCR${i}`).join(', ')}`, `Policy from ${state.policy.source}`]),
    inspection !== undefined
      ? check('channel', 'warn', inspection, [...enclaves.map((e) => `Attested TLS key SHA-256 ${e.binding.attestedKeySha256.slice(0, 16)}…, presented ${e.binding.presentedSpkiSha256.slice(0, 16)}…`), ...(state.route ? [routeFact(state.route)] : [])], 'TLS inspected')
      : check('channel', 'pass', `The TLS key of the connection is the key the enclave attested${each}: the channel ends inside the enclave.`, [
          ...enclaves.map((e) => `Key SHA-256 ${e.binding.attestedKeySha256.slice(0, 16)}…`),
          ...(state.route ? [routeFact(state.route)] : []),
        ]),
  ];
}

/** The route as the channel check states it: a proxy relays the pinned TLS, it does not end it. */
function routeFact(route: ProxyRoute): string {
  if (route.kind === 'direct') return 'Route: direct';
  const source = { setting: 'http.proxy', env: 'the environment', system: 'system or PAC, as VS Code resolved it' }[route.source];
  return `Route: via proxy ${new URL(route.proxy).host} (${source}), which relays the pinned TLS without ending it`;
}

/**
 * A failed state: the refused check fails, those before it were established (they are checked in order), later ones
 * were not reached. "Established" hardware is worded by the root the chain ended in: SIMULATION for a simulation root,
 * a pass only for AWS's, and nothing claimed when the refusal did not name the root.
 */
function failedChecks(state: Extract<TrustState, { kind: 'failed' }>): CheckView[] {
  const { failure, policy } = state;
  const refused = failedCheck(failure.code);
  const order: CheckId[] = ['hardware', 'code', 'channel'];
  const at = refused ? order.indexOf(refused) : -1;
  const root = chainRootOf(state);
  return order.map((id, i) => {
    if (id === refused) return refusedCheck(id, failure, policy, root);
    if (at > i) return id === 'hardware' ? establishedHardware(root) : establishedCode(policy);
    return check(id, 'unknown', refused ? 'Not reached: nothing is sent to this server.' : 'Not checked: the attestation did not complete.');
  });
}

function refusedCheck(id: CheckId, failure: Failure, policy: PolicyInfo | undefined, root: ChainRootFact | undefined): CheckView {
  const mismatch = pcrMismatchOf(failure);
  const facts = [
    ...(id === 'code' && policy ? [`Policy “${quotedName(policy)}”`] : []),
    ...(mismatch ? [mismatch.sentence] : []),
    ...(root?.simulation ? [`Root: “${root.label}” (SIMULATION, not AWS Nitro)`] : []),
    // Whose certificate stood where the enclave's key should be: an inspecting proxy's CA names itself here.
    ...(id === 'channel' && failure.presented ? [`Presented certificate: “${failure.presented.subject}”`, `Issued by: “${failure.presented.issuer}”`] : []),
  ];
  return check(id, 'fail', `Refused (${failure.code}).`, facts);
}

function establishedHardware(root: ChainRootFact | undefined): CheckView {
  if (root?.simulation) return simulationHardware(root.label, [`Root: ${root.label}`, 'Document signed by its chain (checked before the refusal)']);
  if (root) return check('hardware', 'pass', 'A real AWS Nitro enclave: the chain ends in the AWS Nitro Enclaves Root G1 (checked before the refusal).', [`Root: ${root.label}`]);
  return check('hardware', 'unknown', 'The chain was checked before the refusal, but the refusal does not say which root it ended in.');
}

function establishedCode(policy: PolicyInfo | undefined): CheckView {
  if (policy && Object.keys(policy.pcrs).length === 0) return check('code', 'warn', `Policy “${quotedName(policy)}”: ${NO_PCR_PINNED}.`);
  return check('code', 'pass', `Every pinned PCR matched${policy ? ` the policy “${quotedName(policy)}”` : ''} (checked before the refusal).`);
}

/** A policy's name is the user's or a file's words: one line, its control characters escaped. */
function quotedName(policy: { readonly name: string }): string {
  return oneLine(policy.name, 200);
}
