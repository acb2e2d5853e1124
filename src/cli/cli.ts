/**
 * The `blindbox` command line over the attested client core: one invocation's arguments in, its exit code out.
 * Exit codes (exit-codes.ts): 0 ok, 1 attestation rejected, 2 usage error or unreadable input, 3 server or network error.
 * main.ts runs it unbundled (the enclave image, `serve`, `demo`); launch.ts runs the bundle of it (every other command).
 */
import { escapeControls, jsonText, oneLine } from '../shared/text.js';
import { UsageError } from './args.js';
import { COMMAND_SPECS } from './commands.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { closest, helpText, usageLine, wantsHelp } from './flags.js';
import { version } from './version.js';

type Command = (argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) => number | Promise<number>;

/** Commands are imported when run, so `verify-doc` does not pay for loading the server or the HTTP client. */
const commands: Record<string, () => Promise<Command>> = {
  'verify-doc': async () => (await import('./verify-doc.js')).verifyDoc,
  'verify-receipt': async () => (await import('./verify-receipt.js')).verifyReceiptCommand,
  'verify-evidence': async () => (await import('./verify-evidence.js')).verifyEvidenceCommand,
  verify: async () => (await import('./verify.js')).verify,
  transcribe: async () => (await import('./transcribe.js')).transcribeCommand,
  proxy: async () => (await import('./proxy.js')).proxyCommand,
  diagnose: async () => (await import('./diagnose.js')).diagnose,
  demo: async () => (await import('./demo.js')).demo,
  serve: async () => (await import('./serve.js')).serve,
};

function overview(): string {
  const width = Math.max(...COMMAND_SPECS.map((c) => c.name.length));
  return [
    'usage: blindbox <command> [options]',
    '',
    'commands:',
    ...COMMAND_SPECS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '"blindbox <command> --help" lists a command\'s options; "blindbox --version" prints the version.',
    'exit codes: 0 ok, 1 rejected (the server is not the attested enclave), 2 usage error, 3 server or network error.',
  ].join('\n') + '\n';
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? err : out).write(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    out.write(`blindbox ${version()}\n`);
    return EXIT_OK;
  }
  const spec = COMMAND_SPECS.find((c) => c.name === name);
  const load = commands[name];
  if (!spec || !load) {
    const near = closest(name, COMMAND_SPECS.map((c) => c.name));
    err.write(`blindbox: unknown command ${jsonText(name)}${near ? `: did you mean ${near}?` : ''} (blindbox --help lists the commands)\n`);
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    out.write(helpText(spec));
    return EXIT_OK;
  }
  try {
    return await (await load())(rest, out, err);
  } catch (e) {
    if (e instanceof UsageError) {
      // A usage message may quote a file name or a file's field: escaped, so it cannot forge a line.
      err.write(`blindbox ${name}: ${oneLine(e.message, 2000)}\nusage: blindbox ${usageLine(spec)}\n`);
      return EXIT_USAGE;
    }
    err.write(`blindbox ${name}: internal error: ${((e as Error)?.stack ?? String(e)).split('\n').map(escapeControls).join('\n')}\n`);
    return EXIT_INTERNAL;
  }
}

