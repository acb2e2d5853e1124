/**
 * One declarative table per command (commands.ts) is both what `parseArgs` parses and what `--help`, the usage line
 * and the README show: a flag cannot be parsed without being documented, nor documented without being parsed.
 * Every parser complaint is reworded here, so no Node error text reaches the user.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './args.js';

/** One flag: how it parses and how it is documented. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  /** The value's placeholder in help, e.g. `<pem>` (string flags). */
  readonly value?: string;
  readonly multiple?: boolean;
  readonly default?: string | boolean;
  /** One short line. */
  readonly description: string;
}

export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** A command: its positional arguments, one line on what it does, and its flags. */
export interface CommandSpec {
  readonly name: string;
  /** e.g. `<url> <audio>...`; empty for none. */
  readonly args: string;
  readonly summary: string;
  readonly flags: FlagTable;
}

/** `verify <url> [--trust-root <pem>]... [--json]`: the one-line usage, from the table. */
export function usageLine(spec: CommandSpec): string {
  const flags = Object.entries(spec.flags).map(([name, f]) => `[--${name}${f.value ? ` ${f.value}` : ''}]${f.multiple ? '...' : ''}`);
  return [spec.name, spec.args, ...flags].filter((s) => s !== '').join(' ');
}

/** `blindbox <command> --help`: the usage, what the command does, one line per flag. */
export function helpText(spec: CommandSpec): string {
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, f]) => [`--${name}${f.value ? ` ${f.value}` : ''}`, describe(f)]);
  rows.push(['-h, --help', 'print this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [`usage: blindbox ${spec.name}${spec.args ? ` ${spec.args}` : ''} [options]`, '', spec.summary, '', 'options:', ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)].join('\n') + '\n';
}

function describe(f: FlagSpec): string {
  const extras = [f.multiple ? 'repeatable' : '', f.type === 'string' && f.default !== undefined ? `default ${f.default}` : ''].filter(Boolean);
  return extras.length ? `${f.description} (${extras.join('; ')})` : f.description;
}

/** Whether the arguments ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** The parsed values of a table: switches are booleans, repeatable flags arrays, flags with a default always set. */
export type ValuesOf<F extends FlagTable> = {
  -readonly [K in keyof F]: F[K] extends { type: 'boolean' } ? boolean : F[K] extends { multiple: true } ? string[] | undefined : F[K] extends { default: string } ? string : string | undefined;
};

/** Parses `argv` against the command's table; every mistake is a `UsageError` in our words. */
export function parseCommand<S extends CommandSpec>(spec: S, argv: readonly string[]): { values: ValuesOf<S['flags']>; positionals: string[] } {
  const options: ParseArgsConfig['options'] = Object.fromEntries(
    Object.entries(spec.flags).map(([name, f]) => [name, { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.default !== undefined ? { default: f.default as never } : {}) }]),
  );
  const args = joinNegativeValues(spec.flags, argv);
  checkTokens(spec, args);
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as never;
  } catch (e) {
    // checkTokens found every mistake parseArgs knows of; should it ever know more, its words still stay out.
    if ((e as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(`cannot read the arguments (${(e as NodeJS.ErrnoException).code})`);
    throw e;
  }
}

/** `--timeout -5` into `--timeout=-5`: parseArgs calls a value that starts with a dash ambiguous; a number is not. */
function joinNegativeValues(flags: FlagTable, argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (a.startsWith('--') && flags[a.slice(2)]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Walks the tokens a lenient parse sees and words the first mistake: unknown, missing value, or a value for a switch. */
function checkTokens(spec: CommandSpec, args: string[]): void {
  const { tokens } = parseArgs({ args, strict: false, allowPositionals: true, tokens: true, options: Object.fromEntries(Object.entries(spec.flags).map(([n, f]) => [n, { type: f.type }])) });
  for (const [i, t] of tokens.entries()) {
    if (t.kind !== 'option') continue;
    const flag = spec.flags[t.name];
    const shown = t.rawName;
    if (!flag) {
      const near = closest(t.name, Object.keys(spec.flags));
      throw new UsageError(`unknown option ${shown}${near ? `: did you mean --${near}?` : ''} (blindbox ${spec.name} --help lists the options)`);
    }
    if (flag.type === 'boolean' && t.inlineValue) throw new UsageError(`${shown} is a switch and takes no value (got ${JSON.stringify(t.value)})`);
    // A lenient parse takes `--timeout --json` as the value "--json": an option where a value belongs is a missing value.
    const taken = flag.type === 'string' && !t.inlineValue && t.value?.startsWith('-') ? t.value : undefined;
    if (flag.type === 'string' && (t.value === undefined || taken !== undefined)) {
      const next = taken ?? (tokens[i + 1]?.kind === 'option' ? (tokens[i + 1] as { rawName: string }).rawName : undefined);
      throw new UsageError(`${shown} needs a value${flag.value ? `: ${shown} ${flag.value}` : ''}${next !== undefined ? ` (${next} is another option; a value that starts with "-" goes as ${shown}=<value>)` : ''}`);
    }
  }
}

/** The known name nearest to `name`, if it is near enough to be a slip (at most a third of its letters off). */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
