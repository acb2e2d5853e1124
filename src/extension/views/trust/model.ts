/**
 * What the BlindBox view in the Explorer lists for a trust state: pure, unit-tested. tree.ts turns the rows into
 * tree items. When no server is configured it lists nothing, so VS Code shows the view's welcome content (package.json
 * `viewsWelcome`: *Configure Server…*, the walkthrough). Like the status bar it renders facts the core established
 * (`AttestedEnclave`); it decides nothing.
 */
import { formatDuration } from '../../../core/util/format-duration.js';
import { oneLine } from '../../../shared/text.js';
import { shortReason } from '../../common/failure.js';
import { enclaveFacts, policySummary } from '../../trust/summary.js';
import { isSimulation, oldestVerification, type TrustState } from '../../trust/trust-state.js';

/** One row; `icon` is a codicon id. */
export interface TrustRow {
  readonly id: string;
  readonly label: string;
  readonly description?: string;
  readonly tooltip?: string;
  readonly icon: string;
  /** A theme colour id for the icon (`testing.iconPassed`…), when the state has one. */
  readonly color?: string;
  readonly children?: readonly TrustRow[];
}

export function trustRows(state: TrustState, now: number): TrustRow[] {
  if (state.kind === 'unconfigured') return [];
  const server: TrustRow = { id: 'server', label: 'Server', description: state.server === undefined || state.server === null ? '(not set)' : oneLine(state.server, 200), icon: 'server' };
  const policy: TrustRow | undefined = state.policy ? { id: 'policy', label: 'Policy', description: policySummary(state.policy), icon: Object.keys(state.policy.pcrs).length ? 'pinned' : 'warning' } : undefined;
  const rows = (head: TrustRow, ...rest: (TrustRow | undefined)[]) => [head, ...rest.filter((r): r is TrustRow => r !== undefined)];
  switch (state.kind) {
    case 'unverified':
      return rows({ id: 'state', label: 'Not verified yet', icon: 'unverified' }, server, policy);
    case 'verifying':
      return rows({ id: 'state', label: 'Verifying…', icon: 'loading~spin' }, server, policy);
    case 'failed':
      return rows(
        { id: 'state', label: `FAILED · ${shortReason(state.failure.code)}`, description: state.failure.code, tooltip: state.failure.message, icon: 'error', color: 'errorForeground' },
        server,
        policy,
        { id: 'age', label: 'Failed', description: `${formatDuration(now - state.at)} ago`, icon: 'history' },
      );
    case 'verified': {
      const simulation = isSimulation(state.enclaves);
      const head: TrustRow = simulation
        ? { id: 'state', label: 'SIMULATION — not confidential', tooltip: 'The attestation chains to a simulation root you trusted, not to AWS Nitro: no enclave hardware protects the audio.', icon: 'warning', color: 'editorWarning.foreground' }
        : { id: 'state', label: 'Verified AWS Nitro enclave', icon: 'verified-filled', color: 'testing.iconPassed' };
      const enclaves: TrustRow = {
        id: 'enclaves',
        label: state.enclaves.length === 1 ? 'Enclave' : `Enclaves (${state.enclaves.length})`,
        icon: 'chip',
        children: state.enclaves.map((e, i) => {
          const f = enclaveFacts(e, now);
          return { id: `enclave-${i}`, label: f.moduleId, description: `PCR0 ${f.pcr0Prefix} · key ${f.keyPrefix} · ${f.age} ago`, tooltip: `PCR0 ${f.pcr0}\nTLS key SHA-256 ${f.key}`, icon: e.simulation ? 'warning' : 'vm' };
        }),
      };
      return rows(head, server, policy, { id: 'age', label: 'Verified', description: `${formatDuration(now - oldestVerification(state.enclaves))} ago`, icon: 'history' }, enclaves);
    }
  }
}
