/**
 * What the status bar item says in each state: pure, so every state's text is
 * unit-tested. `StatusBar` (item.ts) only copies these fields onto the item.
 */
import { formatDuration } from '../../../core/util/format-duration.js';
import { shortReason } from '../../common/failure.js';
import { COMMANDS } from '../../ids.js';
import { codeSpan, escapeMarkdown } from '../../../core/util/markdown.js';
import { enclaveFacts, inspectionSentence, NO_PCR_PINNED, policyLabel, policySummary } from '../../trust/summary.js';
import { SIMULATION_TITLE, simulationRoot, simulationSentence, stateMismatch } from '../../trust/checks.js';
import { oldestVerification, type TrustState } from '../../trust/trust-state.js';

export const SHOW_ATTESTATION_COMMAND = COMMANDS.showAttestation;
export const VERIFY_COMMAND = COMMANDS.verify;
/** The only commands the tooltip's links may run (item.ts trusts exactly these). */
export const TOOLTIP_COMMANDS = [SHOW_ATTESTATION_COMMAND, VERIFY_COMMAND] as const;

export interface StatusPresentation {
  readonly text: string;
  /** Markdown; untrusted values are escaped or in code spans. Links use only `TOOLTIP_COMMANDS`. */
  readonly tooltip: string;
  readonly background: 'error' | 'warning' | undefined;
  readonly command: string;
  /** For screen readers (no codicons). */
  readonly accessibilityLabel: string;
}

const LINKS = `[Show attestation](command:${SHOW_ATTESTATION_COMMAND}) · [Verify again](command:${VERIFY_COMMAND})`;

/**
 * The status bar item for `result` at `now` (ms); undefined while no server is configured, when the item is hidden:
 * a workspace that does not use BlindBox gets no permanent "not verified" beside its own items (the walkthrough and
 * *Configure Server…* are where one starts).
 */
export function statusPresentation(result: Exclude<TrustState, { kind: 'unconfigured' }>, now: number): StatusPresentation;
export function statusPresentation(result: TrustState, now: number): StatusPresentation | undefined;
export function statusPresentation(result: TrustState, now: number): StatusPresentation | undefined {
  const base = { command: SHOW_ATTESTATION_COMMAND };
  switch (result.kind) {
    case 'unconfigured':
      return undefined;
    case 'unverified':
      return {
        ...base,
        text: '$(unverified) BlindBox: not verified',
        tooltip: `**BlindBox**: not verified yet\n\nServer: ${codeSpan(result.server)}\n\n${LINKS}`,
        background: undefined,
        accessibilityLabel: 'BlindBox: not verified',
      };
    case 'verifying':
      return {
        ...base,
        text: '$(loading~spin) BlindBox: verifying…',
        tooltip: `**BlindBox**: attesting ${codeSpan(result.server)}…`,
        background: undefined,
        accessibilityLabel: 'BlindBox: verifying the server',
      };
    case 'verified': {
      const simulation = simulationRoot(result);
      const verifiedAt = oldestVerification(result.enclaves);
      const policyName = policyLabel(result.policy);
      const age = formatDuration(now - verifiedAt);
      const unpinned = Object.keys(result.policy.pcrs).length === 0;
      // The policy's name is in the tooltip; the text says when the policy pins nothing.
      const flag = unpinned ? ' · unpinned' : '';
      const n = result.enclaves.length;
      const inspection = inspectionSentence(result.enclaves);
      const lines = [
        simulation !== undefined
          ? `**BlindBox: ${SIMULATION_TITLE}.** ${escapeMarkdown(simulationSentence(simulation))}`
          : `**BlindBox**: verified AWS Nitro enclave${n === 1 ? '' : `s (${n})`} (policy ${codeSpan(result.policy.name)})`,
        ...(inspection !== undefined ? [escapeMarkdown(inspection)] : []),
        `Server: ${codeSpan(result.server)}`,
        `Policy: ${escapeMarkdown(policySummary(result.policy))}${unpinned ? ' — **any code running in a genuine enclave is accepted**' : ''}`,
        `${n === 1 ? 'Enclave' : `Enclaves (${n})`}:\n\n${result.enclaves.map((e) => enclaveLine(enclaveFacts(e, now))).join('\n')}`,
        `Verified: ${new Date(verifiedAt).toISOString()} (UTC, ${age} ago)`,
        LINKS,
      ];
      const tooltip = lines.join('\n\n');
      return simulation !== undefined
        ? {
            ...base,
            text: `$(warning) ${fitted(`BlindBox: SIMULATION${flag} · ${age}`, `BlindBox: SIMULATION${flag}`)}`,
            tooltip,
            background: 'warning',
            accessibilityLabel: `BlindBox: simulation, not confidential, policy ${policyName}${unpinned ? ', no PCR pinned' : ''}, ${age} ago`,
          }
        : {
            ...base,
            text: `$(verified-filled) ${fitted(`BlindBox: verified${flag} · ${age}`, `BlindBox: verified${flag}`)}`,
            tooltip,
            background: undefined,
            accessibilityLabel: `BlindBox: verified under policy ${policyName}${unpinned ? `, ${NO_PCR_PINNED}` : ''}, ${age} ago`,
          };
    }
    case 'failed': {
      const reason = shortReason(result.failure.code);
      const simulation = simulationRoot(result);
      const mismatch = stateMismatch(result);
      const lines = [
        `**BlindBox: ${result.whileSending ? 'FAILED while sending audio' : 'verification FAILED'}** (${codeSpan(result.failure.code)})`,
        ...(simulation !== undefined ? [`**${SIMULATION_TITLE}.** ${escapeMarkdown(simulationSentence(simulation))}`] : []),
        escapeMarkdown(result.failure.message),
        ...(mismatch ? [`The server attested PCR${mismatch.index}: ${codeSpan(mismatch.actual ?? '(absent)')}`, `The policy expects: ${codeSpan(mismatch.expected)}`] : []),
        // The server's words in a code span: inert, never a link, and visibly not our sentence.
        ...(result.failure.serverSaid ? [`Server said (not verified by BlindBox): ${codeSpan(result.failure.serverSaid)}`] : []),
        ...(result.server ? [`Server: ${codeSpan(result.server)}`] : []),
        `Time: ${new Date(result.at).toISOString()}`,
        result.failure.untrusted ? '**No audio will be sent to this server.**' : result.whileSending ? 'Transcripts already received are kept; no more audio is sent until the server is verified again.' : 'Nothing was sent.',
        LINKS,
      ];
      return {
        ...base,
        // Under a simulation root the red item says SIMULATION where it would say FAILED (the icon and colour say failed).
        text: `$(error) ${simulation !== undefined ? fitted(`BlindBox: SIMULATION · ${reason}`, 'BlindBox: SIMULATION · FAILED') : fitted(`BlindBox: FAILED · ${reason}`, 'BlindBox: FAILED')}`,
        tooltip: lines.join('\n\n'),
        background: 'error',
        accessibilityLabel: `BlindBox: verification failed, ${reason}${simulation !== undefined ? ', simulation root, not confidential' : ''}`,
      };
    }
  }
}

/**
 * The most characters the item's words may take (its icon aside): VS Code caps a status item at 40 % of the window's
 * width, 304 px in a 760 px window, where longer text is cut. The tooltip always has everything.
 */
export const STATUS_TEXT_BUDGET = 38;

/** The first of `candidates` within the budget (the last one is short enough by construction). */
function fitted(...candidates: string[]): string {
  return candidates.find((c) => c.length <= STATUS_TEXT_BUDGET) ?? candidates.at(-1)!;
}

/** One enclave of the tooltip's list: module, PCR0 and TLS key prefixes, age; all in code spans. */
function enclaveLine(f: ReturnType<typeof enclaveFacts>): string {
  return `- ${codeSpan(f.moduleId)} · PCR0 ${codeSpan(f.pcr0Prefix)} · key ${codeSpan(f.keyPrefix)} · ${f.age} ago`;
}
