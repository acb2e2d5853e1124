/** The whisper-server supervisor against stand-in executables that misbehave as a real one cannot be made to. */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startWhisperServers } from '../../../../src/server/engine/whisper/supervisor.js';
import { defaultThreads } from '../../../../src/server/engine/whisper/supervised-engine.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-supervisor-'));
});

/** Writes an executable Node script that stands in for whisper-server. */
async function standIn(name: string, body: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!${process.execPath}\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

describe('whisper-server supervisor', () => {
  const squatters: number[] = [];
  after(() => {
    for (const pid of squatters.filter((p) => p > 0)) process.kill(pid, 'SIGKILL');
  });

  it('never takes a health answer from another process on the child port as the child being ready', async () => {
    // The stand-in does not listen itself: another process (which it starts and leaves behind) answers on its port.
    const pidFile = path.join(dir, 'squatter.pid');
    const binary = await standIn(
      'squatted.cjs',
      `const port = process.argv[process.argv.indexOf('--port') + 1];
const squatter = require('node:child_process').spawn(process.execPath, ['-e', \`require('node:http').createServer((q, s) => s.end('{"status":"ok"}')).listen(\${port}, '127.0.0.1')\`], { stdio: 'ignore', detached: true });
require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(squatter.pid));
setInterval(() => {}, 1000);`,
    );
    const started = startWhisperServers({ binary, modelFile: '/dev/null', instances: 1, threads: 1, startTimeoutMs: 3_000 });
    try {
      await assert.rejects(started, /did not become healthy within 3000 ms/);
    } finally {
      squatters.push(Number(await readFile(pidFile, 'utf8').catch(() => '0')));
    }
  });

  it('reports a child that exits while starting with the last line it printed', async () => {
    const binary = await standIn('failing.cjs', `console.error('error: failed to load model'); process.exit(1);`);
    await assert.rejects(startWhisperServers({ binary, modelFile: '/dev/null', instances: 2, threads: 1 }), /whisper-server stopped while starting \(exit code 1\): error: failed to load model/);
  });
});

describe('whisper-server threads by default', () => {
  it('share the cores out among the processes, at least one each (more threads than cores only wait)', () => {
    const cores = availableParallelism();
    assert.equal(defaultThreads(1), cores);
    assert.equal(defaultThreads(cores), 1);
    assert.equal(defaultThreads(cores * 4), 1);
  });
});
