/** What a server process holds, read from /proc: for tests that check nothing leaks. Linux only. */
import { readdir, readlink } from 'node:fs/promises';

/** The targets of a process's open file descriptors. */
export async function openFds(pid: number): Promise<string[]> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter(Boolean);
}

/** The upload directories (`blindbox-upload-*`) a server left in its private TMPDIR. */
export async function uploadDirs(serverTmp: string): Promise<string[]> {
  return (await readdir(serverTmp)).filter((e) => e.startsWith('blindbox-upload-'));
}

/** Polls `probe` until `done` accepts its value or `timeoutMs` passes; returns the last value. */
export async function settle<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await probe();
  }
  return value;
}
