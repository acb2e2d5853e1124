/** Runs the project's shell scripts (deploy/nitro/…) as their users do: `bash <script> …args`, a separate process. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

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

/**
 * Writes stand-ins for system tools into the directory `bin` (put it first on the script's PATH): each executable
 * appends its name and arguments as one line to the file $FAKE_LOG, then runs its bash `body` with the same arguments.
 */
export async function writeFakeTools(bin: string, tools: Record<string, string>): Promise<void> {
  await mkdir(bin, { recursive: true });
  for (const [name, body] of Object.entries(tools)) {
    await writeFile(path.join(bin, name), `#!/bin/bash\nprintf '%s\\n' "${name} $*" >>"$FAKE_LOG"\n${body}\n`);
    await chmod(path.join(bin, name), 0o755);
  }
}
