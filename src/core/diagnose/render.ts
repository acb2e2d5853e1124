/**
 * A diagnosis (report.ts) as plain text a user can paste into a ticket: a first line with the verdict, then one
 * numbered line per step and its findings indented below, between two marker lines. Every string is made one
 * printable line again here (the report's are already), so nothing in it can forge a line or drive a terminal.
 */
import { oneLine } from '../../shared/text.js';
import type { DiagnosticReport, DiagnosticStatus } from './report.js';

const MARK: Readonly<Record<DiagnosticStatus, string>> = { ok: '[ok]     ', failed: '[FAILED] ', skipped: '[skipped]' };

/** `about`: rows the caller adds under the header (label, value), e.g. the client's version. */
export function renderDiagnostics(report: DiagnosticReport, about: readonly (readonly [string, string])[] = []): string {
  const failed = report.steps.findIndex((s) => s.status === 'failed');
  const verdict = failed < 0 ? 'every step passed' : `FAILED at step ${failed + 1}: ${oneLine(report.steps[failed]!.title, 120)}`;
  const width = Math.max(8, ...report.steps.flatMap((s) => s.facts.map(([label]) => label.length)));
  const row = (label: string, value: string) => `      ${oneLine(label, 40).padEnd(width)}  ${oneLine(value, 1000)}`;
  const lines = ['----- BlindBox network diagnostics -----', `server    ${oneLine(report.url, 300)}`, `started   ${oneLine(report.startedAt, 40)}`];
  for (const [label, value] of about) lines.push(`${oneLine(label, 8).padEnd(8)}  ${oneLine(value, 300)}`);
  lines.push(`result    ${verdict}`, '');
  report.steps.forEach((step, i) => {
    lines.push(`${MARK[step.status]} ${i + 1}. ${oneLine(step.title, 120)}`);
    for (const [label, value] of step.facts) lines.push(row(label, value));
    if (step.error) lines.push(row('error', `${oneLine(step.error.code, 64)}: ${oneLine(step.error.message, 1000)}`));
    if (step.note) lines.push(row(step.status === 'skipped' ? 'why' : 'note', step.note));
  });
  lines.push('----- end of BlindBox network diagnostics -----');
  return lines.join('\n') + '\n';
}
