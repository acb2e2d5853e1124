/**
 * Runs whisper.cpp's `whisper-server` as supervised child processes of the BlindBox server, each on a private loopback
 * port: started and healthy (`GET /health` answers 200) before the server listens, restarted when one dies, and stopped
 * on close. No child outlives the server: they are spawned through `setpriv --pdeathsig KILL`, so the kernel kills
 * each one when the server process dies, however it dies (SIGKILL included). A child is trusted as healthy only once
 * it is seen to own its listening socket: a port taken meanwhile by another process is never mistaken for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { ENDPOINTS } from '../../../protocol/endpoints.js';

export interface WhisperServersOptions {
  /** The whisper-server executable. */
  readonly binary: string;
  /** The ggml model file (already checked by readWhisperModelFile). */
  readonly modelFile: string;
  /** How many whisper-server processes (each runs one inference at a time). */
  readonly instances: number;
  /** Threads of each (`-t`). */
  readonly threads: number;
  /** whisper-server arguments that change its output (measured by the caller), e.g. `['-l', 'auto']`. */
  readonly args?: readonly string[];
  /** Longest a child may take to load the model and answer its health check. Default 120 s. */
  readonly startTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** The running children. */
export interface WhisperServers {
  /** One base URL per instance, stable across restarts (a restarted child gets the same port). */
  readonly upstreams: readonly URL[];
  /** The process ids of the children now running (tests look for orphans with them). */
  pids(): number[];
  /** How many times instance `i`'s process has died unasked: a change during a request means it died under it. */
  deaths(i: number): number;
  /** Resolves true if instance `i`'s current process exits within `ms` (false if it is alive then or already gone). */
  exitsWithin(i: number, ms: number): Promise<boolean>;
  /** Stops every child: SIGTERM, then SIGKILL after a short grace. Resolves when all have exited. */
  close(): Promise<void>;
}

/** A start-up failure of whisper-server, with the last line it printed. */
export class WhisperServerStartError extends Error {
  override name = 'WhisperServerStartError';
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});
const STOP_GRACE_MS = 2_000;
const RESTART_DELAY_MS = [250, 1_000, 5_000, 15_000];

/** A loopback port free now (whisper-server cannot be given port 0); a child that then fails to bind is started again on another. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Whether process `pid` is the one listening on 127.0.0.1:`port` (Linux: /proc/net/tcp's listening socket inode among
 * the process's descriptors), so that a health answer from another process that took the port is never trusted.
 * Where /proc has no such table, the answer is taken as is.
 */
async function listensOn(pid: number, port: number): Promise<boolean> {
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => undefined);
  if (table === undefined) return true;
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = table
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1] === local && f[3] === '0A') // 0A: LISTEN
    .map((f) => `socket:[${f[9]}]`);
  if (inodes.length === 0) return false;
  const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
  for (const fd of fds) {
    if (inodes.includes(await readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''))) return true;
  }
  return false;
}

class Instance {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #lastLine = '';
  #deaths = 0;
  #closing = false;
  #restart: NodeJS.Timeout | undefined;
  url!: URL;

  constructor(
    readonly index: number,
    readonly options: WhisperServersOptions,
  ) {}

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  get deaths(): number {
    return this.#deaths;
  }

  /** First start: a few ports are tried, as another process may take a free port before the child binds it. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.url = new URL(`http://127.0.0.1:${await freePort()}/`);
      try {
        await this.#spawnHealthy();
        return;
      } catch (err) {
        if (attempt >= 3 || !/bind/i.test((err as Error).message)) throw err;
      }
    }
  }

  #spawnHealthy(): Promise<void> {
    const { binary, modelFile, threads, args = [] } = this.options;
    // The OpenAI-compatible path, which the whisper-http client speaks (whisper-server's default is /inference).
    const route = ['--inference-path', ENDPOINTS.transcriptions];
    const argv = [binary, '-m', modelFile, '--host', '127.0.0.1', '--port', this.url.port, ...route, '-t', String(threads), ...args];
    const [file, ...rest] = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : argv;
    // stdout (a line per request, with the client's file name) is not kept; stderr's last line explains a failed start.
    const child = spawn(file!, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.#lastLine = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      const lines = text.split('\n').filter((l) => l.trim());
      if (lines.length) this.#lastLine = lines.at(-1)!.trim().slice(0, 300);
    });
    // 'exit' as soon as the process is gone (a request it held is then known to have lost it); 'close' once its stderr is read too.
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.once('error', () => {}); // a missing binary: 'close' follows, and the health wait reports it
    return this.#waitHealthy(child, closed);
  }

  async #waitHealthy(child: ChildProcess, closed: Promise<void>): Promise<void> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 120_000);
    let exited = false;
    void this.#exited.then(() => (exited = true));
    const health = new URL('health', this.url);
    while (!exited) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new WhisperServerStartError(`whisper-server did not become healthy within ${this.options.startTimeoutMs ?? 120_000} ms`);
      }
      try {
        const answer = await request(health, { signal: AbortSignal.timeout(2_000) });
        await answer.body.dump();
        if (answer.statusCode === 200 && !exited && (await listensOn(child.pid!, Number(this.url.port)))) {
          if (child.exitCode !== null || child.signalCode !== null) break; // died between the answer and now
          child.once('exit', (code, signal) => this.#died(code, signal));
          return;
        }
      } catch {
        // not listening yet (it binds after loading the model)
      }
      await delay(50);
    }
    await closed;
    const how = child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`;
    throw new WhisperServerStartError(`whisper-server stopped while starting (${how})${this.#lastLine ? `: ${this.#lastLine}` : ''}`);
  }

  #died(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#closing) return;
    this.#deaths++;
    const wait = RESTART_DELAY_MS[Math.min(this.#deaths - 1, RESTART_DELAY_MS.length - 1)]!;
    this.options.log?.(`whisper-server #${this.index} (${this.url.host}) stopped (${signal ?? `exit code ${code}`}): restarting it in ${wait} ms`);
    const again = () => {
      this.#restart = undefined;
      if (this.#closing) return;
      this.#spawnHealthy().then(
        () => this.options.log?.(`whisper-server #${this.index} (${this.url.host}) is back`),
        (err: Error) => {
          if (this.#closing) return;
          this.options.log?.(`whisper-server #${this.index} could not restart: ${err.message}; trying again`);
          this.#restart = setTimeout(again, RESTART_DELAY_MS.at(-1));
        },
      );
    };
    this.#restart = setTimeout(again, wait);
  }

  async exitsWithin(ms: number): Promise<boolean> {
    if (this.pid === undefined) return false;
    const timer = delay(ms, false);
    return Promise.race([this.#exited.then(() => true), timer]);
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#restart);
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.#exited;
    child.kill('SIGTERM');
    // whisper-server waits for a running inference before it exits on SIGTERM: it gets a short grace, not the inference.
    const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await this.#exited;
    clearTimeout(kill);
  }
}

/** Starts `instances` children and waits until each is healthy; on a failure the others are stopped and it throws. */
export async function startWhisperServers(options: WhisperServersOptions): Promise<WhisperServers> {
  if (!SETPRIV) options.log?.('setpriv is missing: whisper-server children would outlive a killed server (install util-linux)');
  const instances = Array.from({ length: options.instances }, (_, i) => new Instance(i, options));
  const started = await Promise.allSettled(instances.map((instance) => instance.start()));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(instances.map((instance) => instance.close()));
    throw failed.reason;
  }
  return {
    upstreams: instances.map((instance) => instance.url),
    pids: () => instances.map((instance) => instance.pid).filter((pid): pid is number => pid !== undefined),
    deaths: (i) => instances[i]!.deaths,
    exitsWithin: (i, ms) => instances[i]!.exitsWithin(ms),
    close: async () => {
      await Promise.all(instances.map((instance) => instance.close()));
    },
  };
}
