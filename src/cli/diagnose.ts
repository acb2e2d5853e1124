/**
 * `blindbox diagnose <url>`: the core's network diagnosis (core/diagnose/) under the same trust and proxy flags as
 * `verify`, printed as the paste-able report or as JSON. Exit 0 when every step passed, 1 when one failed (the report
 * names it), 2 for a usage error (a bad flag, an unreadable policy or root file).
 */
import { jsonText, renderDiagnostics, runDiagnostics } from '../core/index.js';
import { UsageError } from './args.js';
import { connectOptions, inspectionOptions } from './attestation-flags.js';
import { diagnoseSpec } from './commands.js';
import { parseCommand } from './flags.js';
import { EXIT_OK, EXIT_REJECTED } from './exit-codes.js';
import { clientDescription } from './version.js';

export async function diagnose(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parseCommand(diagnoseSpec, argv);
  if (positionals.length !== 1) throw new UsageError('diagnose takes exactly one server URL');
  const { roots, policy, timeoutMs, proxy, environment } = await connectOptions(values);
  const report = await runDiagnostics(positionals[0]!, { roots, policy, timeoutMs, proxy, environment, ...(await inspectionOptions(values)) });
  const client = clientDescription();
  out.write(values.json ? jsonText({ client, ...report }) + '\n' : renderDiagnostics(report, [['client', client]]));
  return report.ok ? EXIT_OK : EXIT_REJECTED;
}
