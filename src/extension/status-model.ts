/**
 * What the status bar item says in each state: pure, so every state's text is
 * unit-tested. `StatusBar` (status.ts) only copies these fields onto the item.
 */
import { formatAge } from '../core/util/format-age.js';
import { shortReason } from './failure.js';
import { COMMANDS } from './ids.js';
import { codeSpan, escapeMarkdown } from '../core/util/markdown.js';
import { isSimulation, oldestVerification, primaryEnclave, type TrustState } from './trust/trust-state.js';

export const SHOW_ATTESTATION_COMMAND = COMMANDS.showAttestation;
export const VERIFY_COMMAND = COMMANDS.verify;

export interface StatusPresentation {
  readonly text: string;
  /** Markdown; untrusted values are escaped or in code spans. Links use only the two commands above. */
  readonly tooltip: string;
  readonly background: 'error' | 'warning' | undefined;
  readonly command: string;
  /** For screen readers (no codicons). */
  readonly accessibilityLabel: string;
}

const LINKS = `[Show attestation](command:${SHOW_ATTESTATION_COMMAND}) · [Verify again](command:${VERIFY_COMMAND})`;

/** The status bar item for `result` at `now` (ms). */
export function statusPresentation(result: TrustState, now: number): StatusPresentation {
  const base = { command: SHOW_ATTESTATION_COMMAND };
  switch (result.kind) {
    case 'unconfigured':
      return {
        ...base,
        text: '$(unverified) BlindBox: not verified',
        tooltip: '**BlindBox**: no server is configured.\n\nSet `blindbox.serverUrl` in your user settings, then [verify](command:' + VERIFY_COMMAND + ').',
        background: undefined,
        accessibilityLabel: 'BlindBox: not verified, no server configured',
      };
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
      const { attestation } = primaryEnclave(result);
      const simulation = isSimulation(result.enclaves);
      const verifiedAt = oldestVerification(result.enclaves);
      const policyName = result.policy.name;
      const age = formatAge(now - verifiedAt);
      const lines = [
        simulation
          ? '**BlindBox: SIMULATION — not confidential.** The attestation chains to a simulation root you trusted in `blindbox.trustedRoots`, not to AWS Nitro: no enclave protects the audio.'
          : `**BlindBox**: verified AWS Nitro enclave (policy ${codeSpan(policyName)})`,
        `Server: ${codeSpan(result.server)}`,
        `Module: ${codeSpan(attestation.moduleId)}`,
        `PCR0: ${codeSpan(pcrPrefix(attestation.pcrs[0]))}`,
        `Verified: ${new Date(verifiedAt).toISOString()} (${age} ago)`,
        LINKS,
      ];
      return simulation
        ? { ...base, text: '$(warning) BlindBox: SIMULATION — not confidential', tooltip: lines.join('\n\n'), background: 'warning', accessibilityLabel: 'BlindBox: simulation, not confidential' }
        : {
            ...base,
            text: `$(verified-filled) BlindBox: verified · ${policyName} · ${age}`,
            tooltip: lines.join('\n\n'),
            background: undefined,
            accessibilityLabel: `BlindBox: verified under policy ${policyName}, ${age} ago`,
          };
    }
    case 'failed': {
      const reason = shortReason(result.failure.code);
      const lines = [
        `**BlindBox: verification FAILED** (${codeSpan(result.failure.code)})`,
        escapeMarkdown(result.failure.message),
        // The server's words in a code span: inert, never a link, and visibly not our sentence.
        ...(result.failure.serverSaid ? [`Server said (not verified by BlindBox): ${codeSpan(result.failure.serverSaid)}`] : []),
        ...(result.server ? [`Server: ${codeSpan(result.server)}`] : []),
        `Time: ${new Date(result.at).toISOString()}`,
        result.failure.untrusted ? '**No audio will be sent to this server.**' : 'Nothing was sent.',
        LINKS,
      ];
      return { ...base, text: `$(error) BlindBox: FAILED · ${reason}`, tooltip: lines.join('\n\n'), background: 'error', accessibilityLabel: `BlindBox: verification failed, ${reason}` };
    }
  }
}

function pcrPrefix(hex: string | undefined): string {
  return hex ? `${hex.slice(0, 16)}…` : '(absent)';
}
