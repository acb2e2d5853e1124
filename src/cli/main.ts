/**
 * The `blindbox` command line over the attested client core.
 * Exit codes (exit-codes.ts): 0 ok, 1 attestation rejected, 2 usage error or unreadable input, 3 server or network error.
 */
import { UsageError } from './args.js';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE } from './exit-codes.js';

type Command = (argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) => number | Promise<number>;

/** Commands are imported when run, so `verify-doc` does not pay for loading the server or the HTTP client. */
const commands: Record<string, { load: () => Promise<Command>; usage: string }> = {
  'verify-doc': { load: async () => (await import('./verify-doc.js')).verifyDoc, usage: 'verify-doc <file> [--at <ISO-8601 | unix-ms>] [--root <pem>]... [--pcr <index>=<hex>]... [--nonce <hex>] [--max-age <seconds>] [--json]' },
  'verify-receipt': {
    load: async () => (await import('./verify-receipt.js')).verifyReceiptCommand,
    usage: 'verify-receipt <receipt.json> --audio <file> --transcript <file> [--trust-root <pem>]... [--policy <file>] [--pcr <index>=<hex>]... [--json]',
  },
  'verify-evidence': { load: async () => (await import('./verify-evidence.js')).verifyEvidenceCommand, usage: 'verify-evidence <evidence.json> [--trust-root <pem>]... [--json]' },
  verify: { load: async () => (await import('./verify.js')).verify, usage: 'verify <url> [--trust-root <pem>]... [--policy <file>] [--pcr <index>=<hex>]... [--timeout <seconds>] [--json]' },
  transcribe: {
    load: async () => (await import('./transcribe.js')).transcribeCommand,
    usage: 'transcribe <url> <audio>... [--out-dir <dir>] [--concurrency <n>] [--trust-root <pem>]... [--policy <file>] [--pcr <index>=<hex>]... [--timeout <seconds>] [--format text|json|verbose_json|srt|vtt] [--language <code>] [--receipt <file>]',
  },
  demo: { load: async () => (await import('./demo.js')).demo, usage: 'demo [--audio <file>] [--engine pocketsphinx]' },
  serve: { load: async () => (await import('./serve.js')).serve, usage: 'serve [--simulate [--trust-out <root.pem>] [--ca <dir>]] [--port <n>] [--engine pocketsphinx|whisper-http] [--upstream <url> [--model-file <path>]] [--workers <n>] [--split-seconds <s>] [--keep-alive <seconds>] [--connections-per-source <n>]' },
};

function usageText(): string {
  return ['usage: blindbox <command> …', ...Object.values(commands).map((c) => `  blindbox ${c.usage}`)].join('\n') + '\n';
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? err : out).write(usageText());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = commands[name];
  if (!command) {
    err.write(`blindbox: unknown command ${JSON.stringify(name)}\n${usageText()}`);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load())(rest, out, err);
  } catch (e) {
    // parseArgs reports unknown flags and missing values with ERR_PARSE_ARGS_* codes.
    if (e instanceof UsageError || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`blindbox ${name}: ${(e as Error).message}\nusage: blindbox ${command.usage}\n`);
      return EXIT_USAGE;
    }
    err.write(`blindbox ${name}: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_INTERNAL;
  }
}

process.exitCode = await main(process.argv.slice(2));
