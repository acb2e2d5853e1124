/** Runs the project's shell scripts (deploy/nitro/…) as their users do: `bash <script> …args`, a separate process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** What a script run left: its exit code, output, and how long it took. */
export interface ScriptResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

/**
 * Runs `bash script …args` to completion with `env` added to this process's environment; after `timeoutMs` it is sent
 * SIGTERM (its traps clean up), and SIGKILL 10 s later.
 */
export async function runScript(script: string, args: readonly string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<ScriptResult> {
  const started = Date.now();
  const child = spawn('bash', [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let kill: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    child.kill('SIGTERM');
    kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  }, timeoutMs);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  clearTimeout(kill);
  return { code, stdout, stderr, seconds: Math.round((Date.now() - started) / 1000) };
}
