/**
 * The `blindbox` command line over the attested client core.
 * Exit codes: 0 ok, 1 attestation rejected, 2 usage error or unreadable input, 3 server or network error.
 */
import { UsageError } from './args.js';
import { serve, usage as serveUsage } from './serve.js';
import { transcribeCommand, usage as transcribeUsage } from './transcribe.js';
import { verifyDoc, usage as verifyDocUsage } from './verify-doc.js';
import { verify, usage as verifyUsage } from './verify.js';

type Command = (argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream) => number | Promise<number>;

const commands: Record<string, { run: Command; usage: string }> = {
  'verify-doc': { run: verifyDoc, usage: verifyDocUsage },
  verify: { run: verify, usage: verifyUsage },
  transcribe: { run: transcribeCommand, usage: transcribeUsage },
  serve: { run: serve, usage: serveUsage },
};

function usageText(): string {
  return ['usage: blindbox <command> …', ...Object.values(commands).map((c) => `  blindbox ${c.usage}`)].join('\n') + '\n';
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? err : out).write(usageText());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    err.write(`blindbox: unknown command ${JSON.stringify(name)}\n${usageText()}`);
    return 2;
  }
  try {
    return await command.run(rest, out, err);
  } catch (e) {
    // parseArgs reports unknown flags and missing values with ERR_PARSE_ARGS_* codes.
    if (e instanceof UsageError || (e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`blindbox ${name}: ${(e as Error).message}\nusage: blindbox ${command.usage}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = await main(process.argv.slice(2));
