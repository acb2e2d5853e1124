/**
 * What the BlindBox view in the Explorer lists for a trust state: pure, unit-tested. tree.ts turns the rows into
 * tree items. When no server is configured it lists nothing, so VS Code shows the view's welcome content (package.json
 * `viewsWelcome`: *Configure Server…*, the walkthrough). Like the status bar it renders facts the core established
 * (`AttestedEnclave`); it decides nothing.
 */
import { formatDuration } from '../../../core/util/format-duration.js';
import { oneLine } from '../../../shared/text.js';
import { shortReason } from '../../common/failure.js';
import { COMMANDS } from '../../ids.js';
import { PCR_EXPLAINED, SIMULATION_TITLE, simulationRoot, simulationSentence, stateMismatch, trustChecks, type CheckState } from '../../trust/checks.js';
import { enclaveFacts, policySummary } from '../../trust/summary.js';
import { oldestVerification, type TrustState } from '../../trust/trust-state.js';

/** One row; `icon` is a codicon id. */
export interface TrustRow {
  readonly id: string;
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  readonly icon: string;
  /** A theme colour id for the icon (`testing.iconPassed`…), when the state has one. */
  readonly color?: string;
  /** What a click runs; *Show Attestation* when unset. */
  readonly command?: string;
  readonly children?: readonly TrustRow[];
}

const CHECK_ICONS: Record<CheckState, { readonly icon: string; readonly color?: string }> = {
  pass: { icon: 'pass', color: 'testing.iconPassed' },
  warn: { icon: 'warning', color: 'editorWarning.foreground' },
  fail: { icon: 'error', color: 'errorForeground' },
  unknown: { icon: 'circle-slash' },
};

export function trustRows(state: TrustState, now: number): TrustRow[] {
  if (state.kind === 'unconfigured') return [];
  const server: TrustRow = { id: 'server', label: 'Server', description: state.server === undefined || state.server === null ? '(not set)' : oneLine(state.server, 200), icon: 'server' };
  const policy: TrustRow | undefined = state.policy
    ? { id: 'policy', label: 'Policy', description: policySummary(state.policy), tooltip: PCR_EXPLAINED, icon: Object.keys(state.policy.pcrs).length ? 'pinned' : 'warning' }
    : undefined;
  // The three checks under the state row, worded by trust/checks.ts as every other surface words them.
  const checks = trustChecks(state, now).map((c): TrustRow => ({ id: `check-${c.id}`, label: `${c.title}: ${c.stateText}`, tooltip: [c.summary, ...c.facts].join('\n'), ...CHECK_ICONS[c.state] }));
  const rows = (head: TrustRow, ...rest: (TrustRow | undefined)[]) => [checks.length ? { ...head, children: checks } : head, ...rest.filter((r): r is TrustRow => r !== undefined)];
  const simulation = simulationRoot(state);
  switch (state.kind) {
    case 'unverified':
      return rows({ id: 'state', label: 'Not verified yet', icon: 'unverified' }, server, policy);
    case 'verifying':
      return rows({ id: 'state', label: 'Verifying…', icon: 'loading~spin' }, server, policy);
    case 'failed':
      return rows(
        { id: 'state', label: `FAILED · ${shortReason(state.failure.code)}`, description: state.failure.code, tooltip: state.failure.message, icon: 'error', color: 'errorForeground' },
        simulation !== undefined ? simulationRow(simulation) : undefined,
        ...mismatchRows(state),
        server,
        policy,
        { id: 'age', label: 'Failed', description: `${formatDuration(now - state.at)} ago`, icon: 'history' },
      );
    case 'verified': {
      const head: TrustRow = simulation !== undefined ? simulationRow(simulation) : { id: 'state', label: 'Verified AWS Nitro enclave', icon: 'verified-filled', color: 'testing.iconPassed' };
      const enclaves: TrustRow = {
        id: 'enclaves',
        label: state.enclaves.length === 1 ? 'Enclave' : `Enclaves (${state.enclaves.length})`,
        icon: 'chip',
        children: state.enclaves.map((e, i) => {
          const f = enclaveFacts(e, now);
          return {
            id: `enclave-${i}`,
            label: f.moduleId,
            description: `PCR0 ${f.pcr0Prefix} · key ${f.keyPrefix} · ${f.age} ago`,
            tooltip: `PCR0 (fingerprint of the enclave image) ${f.pcr0}\nTLS key SHA-256 ${f.key}`,
            icon: e.simulation ? 'warning' : 'vm',
          };
        }),
      };
      return rows(head, server, policy, { id: 'age', label: 'Verified', description: `${formatDuration(now - oldestVerification(state.enclaves))} ago`, icon: 'history' }, enclaves);
    }
  }
}

function simulationRow(rootLabel: string): TrustRow {
  return { id: 'simulation', label: SIMULATION_TITLE, tooltip: simulationSentence(rootLabel), icon: 'warning', color: 'editorWarning.foreground' };
}

/** A PCR mismatch: what the server attested and what the policy expects, cut at the first difference; in full in the tooltip. */
function mismatchRows(state: TrustState): TrustRow[] {
  const m = stateMismatch(state);
  if (!m) return [];
  const full = `The server attested PCR${m.index}:\n${m.actual ?? '(absent)'}\nThe policy expects:\n${m.expected}\n${m.sentence}\n\n${PCR_EXPLAINED}`;
  return [
    {
      id: 'pcr-actual',
      label: `Server's PCR${m.index}`,
      description: m.actualMarked,
      tooltip: m.actual ? `${full}\n\nClick to pin the server's PCR${m.index} (you confirm first).` : full,
      icon: 'symbol-numeric',
      ...(m.actual ? { command: COMMANDS.pinAttestedPcr } : {}),
    },
    { id: 'pcr-expected', label: 'Policy expects', description: m.expectedMarked, tooltip: full, icon: 'pinned' },
  ];
}
