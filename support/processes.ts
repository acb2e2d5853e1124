/**
 * What tests see of processes through Linux's /proc: children by parent, CPU time used, whether one still runs, and
 * a bounded wait for a condition.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';

/** A process's state letter and parent from /proc/<pid>/stat (comm may hold spaces and parentheses), or undefined if gone. */
async function stateOf(pid: number | string): Promise<{ state: string; ppid: number; comm: string; fields: string[] } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields };
}

async function pids(): Promise<string[]> {
  return (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
}

/** Live processes whose parent is `pid` (zombies count as gone). */
export async function childrenOf(pid: number): Promise<{ pid: number; command: string }[]> {
  const found: { pid: number; command: string }[] = [];
  for (const entry of await pids()) {
    const s = await stateOf(entry);
    if (s && s.ppid === pid && s.state !== 'Z') found.push({ pid: Number(entry), command: s.comm });
  }
  return found;
}

/** Live processes running the executable `binary` (its real path) whose arguments include `argument`, whoever their parent now is. */
export async function processesOf(binary: string, argument: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await pids()) {
    if ((await readlink(`/proc/${entry}/exe`).catch(() => '')) !== binary) continue;
    const args = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (args.includes(argument) && (await running(Number(entry)))) found.push(Number(entry));
  }
  return found;
}

/** The CPU time a process has used (user + system, in clock ticks). */
export async function cpuTicks(pid: number): Promise<number> {
  const s = await stateOf(pid);
  if (!s) throw new Error(`process ${pid} is gone`);
  return Number(s.fields[11]) + Number(s.fields[12]);
}

/** Whether a process is running (not gone, not a zombie). */
export async function running(pid: number): Promise<boolean> {
  const s = await stateOf(pid);
  return s !== undefined && s.state !== 'Z';
}

/** Polls `probe` every 50 ms until it gives a truthy value, which it returns; throws after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

/** Milliseconds a process's threads have spent on a CPU and waiting for one (runnable, queued), from their schedstat. */
export async function cpuAndWait(pid: number): Promise<{ readonly runMs: number; readonly waitMs: number }> {
  let runNs = 0;
  let waitNs = 0;
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const [run, wait] = (await readFile(`/proc/${pid}/task/${task}/schedstat`, 'utf8').catch(() => '0 0')).split(' ').map(Number);
    runNs += run!;
    waitNs += wait!;
  }
  return { runMs: runNs / 1e6, waitMs: waitNs / 1e6 };
}
