/** Runs the compiled CLI as a user would: a separate process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
/** bin/blindbox.cjs: the bundle `npm run build` makes, as the package runs it. */
export const BIN = fileURLToPath(new URL('../../bin/blindbox.cjs', import.meta.url));
const MODULE_TRACE = fileURLToPath(new URL('./module-trace.js', import.meta.url));
/**
 * For node's `--import`: makes v8.setFlagsFromString do nothing, so the CLI's baseline-only WebAssembly flag
 * (src/cli/baseline-wasm.ts) is never set, and the bundle's code cache, made under it, does not match.
 */
export const IGNORE_V8_FLAGS = `data:text/javascript,${encodeURIComponent("import v8 from 'node:v8'; import { syncBuiltinESMExports } from 'node:module'; v8.setFlagsFromString = () => {}; syncBuiltinESMExports();")}`;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `blindbox …args` to completion (bounded by `timeoutMs`); `env`, when given, is its whole environment. */
export async function runCli(args: readonly string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv, nodeArgs: readonly string[] = [], entry = CLI): Promise<CliResult> {
  const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * Runs `blindbox …args` (from `entry`: tsc's output, or BIN) and returns, with its result, the file URLs of every
 * module it loaded, in order (support/module-trace.ts).
 */
export async function runCliTracingModules(args: readonly string[], entry = CLI): Promise<CliResult & { readonly modules: readonly string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-modules-'));
  try {
    const trace = path.join(dir, 'modules.txt');
    const result = await runCli(args, 60_000, { ...process.env, BLINDBOX_MODULE_TRACE: trace }, ['--import', MODULE_TRACE], entry);
    const modules = (await readFile(trace, 'utf8')).split('\n').filter((url) => url.startsWith('file:') && !url.endsWith('/module-trace.js'));
    return { ...result, modules };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A running `blindbox serve`; `url` is what its single stdout line announced. */
export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `blindbox serve …args`; `env` is added to this process's environment (e.g. a private TMPDIR). With `tmpfs`,
 * the server runs in a private mount namespace where a tmpfs of `sizeMb` is mounted on `dir` (its TMPDIR): a small
 * temporary filesystem, as in an enclave, without touching the machine's mounts (needs root; `dir` must exist).
 * Seen from outside, that filesystem is `/proc/<pid>/root<dir>`.
 */
export async function startServe(args: readonly string[], env: Readonly<Record<string, string>> = {}, tmpfs?: { readonly dir: string; readonly sizeMb: number }): Promise<ServeProcess> {
  const command = [process.execPath, CLI, 'serve', ...args];
  const [file, ...argv] = tmpfs
    ? ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${tmpfs.sizeMb}m tmpfs "$0" && exec "$@"`, tmpfs.dir, ...command]
    : command;
  const started = await startAnnouncing(file!, argv, { ...env, ...(tmpfs ? { TMPDIR: tmpfs.dir } : {}) }, /^listening (https:\/\/\S+)\n/);
  return { ...started, url: started.announced[1]! };
}

/** A running `blindbox proxy`: the base URL and token its first two stdout lines gave. */
export interface ProxyProcess extends Omit<ServeProcess, 'url'> {
  readonly baseUrl: string;
  readonly token: string;
}

/** Starts `blindbox proxy …args`; `env` is added to this process's environment (e.g. a private TMPDIR). */
export async function startProxyCommand(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ProxyProcess> {
  const started = await startAnnouncing(process.execPath, [CLI, 'proxy', ...args], env, /^(http:\/\/\S+)\ntoken (\S+)\n/);
  return { ...started, baseUrl: started.announced[1]!, token: started.announced[2]! };
}

/** Spawns `file argv` and waits (60 s at most) until its stdout starts with what `announced` matches. */
async function startAnnouncing(file: string, argv: readonly string[], env: NodeJS.ProcessEnv, announced: RegExp): Promise<Omit<ServeProcess, 'url'> & { announced: RegExpExecArray }> {
  const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not start: ${stderr}`)), 60_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = announced.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => reject(new Error(`${argv.join(' ')} exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    announced: match,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}
