/**
 * The CLI's contract, as a script sees it: help and version on stdout with exit 0, every usage mistake one line in
 * our own words with exit 2, and the README's usage lines the ones the flag tables print.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { COMMAND_SPECS } from '../../src/cli/commands.js';
import { usageLine } from '../../src/cli/flags.js';
import { endSentence, errorClause } from '../../src/shared/text.js';
import { runCli, startServe } from '../../support/cli.js';

const firstLine = (text: string) => text.split('\n')[0];

describe('blindbox help and version', () => {
  for (const spec of COMMAND_SPECS) {
    for (const flag of ['--help', '-h']) {
      it(`${spec.name} ${flag} prints one line per flag of its table, exit 0`, async () => {
        const r = await runCli([spec.name, flag]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.equal(firstLine(r.stdout), `usage: blindbox ${spec.name}${spec.args ? ` ${spec.args}` : ''} [options]`);
        for (const [name, f] of Object.entries(spec.flags)) {
          const line = r.stdout.split('\n').find((l) => l.startsWith(`  --${name}${f.value ? ` ${f.value}` : ''} `));
          assert.ok(line?.includes(f.description), `--${name} is documented: ${r.stdout}`);
        }
      });
    }
  }

  it('--help lists every command; --version prints the package version', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const spec of COMMAND_SPECS) assert.match(help.stdout, new RegExp(`^  ${spec.name} +${spec.summary.slice(0, 20)}`, 'm'));
    const version = await runCli(['--version']);
    const { version: expected } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.deepEqual([version.code, version.stdout], [0, `blindbox ${expected}\n`]);
  });

  it("README's CLI section shows each command's usage line as the table prints it", async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    for (const spec of COMMAND_SPECS) assert.ok(readme.includes(`blindbox ${usageLine(spec)}\n`), `README lacks: blindbox ${usageLine(spec)}`);
  });
});

describe('blindbox usage errors', () => {
  const cases: [string, string[], string][] = [
    ['a misspelt flag', ['verify', 'https://127.0.0.1:1', '--trust-roots', 'x.pem'], 'blindbox verify: unknown option --trust-roots: did you mean --trust-root? (blindbox verify --help lists the options)'],
    ['an unknown flag', ['transcribe', '--frobnicate'], 'blindbox transcribe: unknown option --frobnicate (blindbox transcribe --help lists the options)'],
    ['a misspelt command', ['verfy'], 'blindbox: unknown command "verfy": did you mean verify? (blindbox --help lists the commands)'],
    ['a missing value', ['verify', 'https://127.0.0.1:1', '--timeout'], 'blindbox verify: --timeout needs a value: --timeout <seconds>'],
    ['an option where a value belongs', ['verify', 'https://127.0.0.1:1', '--timeout', '--json'], 'blindbox verify: --timeout needs a value: --timeout <seconds> (--json is another option; a value that starts with "-" goes as --timeout=<value>)'],
    ['a value for a switch', ['verify', 'https://127.0.0.1:1', '--json=yes'], 'blindbox verify: --json is a switch and takes no value (got "yes")'],
    ['a negative number, read as a value', ['verify', 'https://127.0.0.1:1', '--timeout', '-5'], 'blindbox verify: --timeout "-5" is not a number of seconds'],
    ['a zero --max-age', ['verify', 'https://127.0.0.1:1', '--max-age', '0'], 'blindbox verify: --max-age must be more than 0 seconds'],
    ['a missing demo audio file', ['demo', '--audio', '/nonexistent/speech.wav'], 'blindbox demo: cannot read the audio file "/nonexistent/speech.wav": ENOENT'],
    ['demo whisper-http without an upstream', ['demo', '--engine', 'whisper-http'], 'blindbox demo: --engine whisper-http needs --upstream <url> (the whisper.cpp server to use)'],
    ['an unknown serve engine', ['serve', '--simulate', '--engine', 'vosk'], 'blindbox serve: --engine must be one of pocketsphinx, whisper, whisper-http, none'],
  ];
  for (const [what, args, line] of cases) {
    it(`${what}: one line, exit 2, no parser text`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(firstLine(r.stderr), line);
      assert.doesNotMatch(r.stderr, /ERR_|internal error|\n\s+at /);
      assert.equal(r.stdout, '');
    });
  }

  it('serve on a busy port: one line, exit 2', async () => {
    const holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const port = (holder.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--simulate', '--engine', 'none', '--port', String(port)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^blindbox serve: cannot listen on port ${port}: it is in use \\(choose another with --port, or --port 0 for any free port\\)$`, 'm'));
      assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
    } finally {
      holder.close();
    }
  });

  it('serve --simulate without --trust-out says how clients trust it', async () => {
    const serve = await startServe(['--simulate', '--engine', 'none']);
    try {
      assert.match(serve.stderr(), new RegExp(`clients trust this simulation with: blindbox verify ${serve.url.replace(/[.]/g, '\\.')} --trust-root <file> \\(write it with --trust-out <file>\\)`));
    } finally {
      await serve.stop();
    }
  });

  it('serve --simulate without --ca says how to keep one root across restarts; with --ca it does not', async () => {
    const hint = /^\[enclave\] this simulation root is new at every start, so clients must trust it again: keep one root across restarts with --ca <dir>$/m;
    const serve = await startServe(['--simulate', '--engine', 'none']);
    try {
      assert.match(serve.stderr(), hint);
    } finally {
      await serve.stop();
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-contract-ca-'));
    const kept = await startServe(['--simulate', '--engine', 'none', '--ca', path.join(dir, 'ca')]);
    try {
      assert.doesNotMatch(kept.stderr(), hint);
    } finally {
      await kept.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('blindbox verdicts', () => {
  it('a server that cannot be reached is UNREACHABLE (exit 3), one full stop', async () => {
    const holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const port = (holder.address() as { port: number }).port;
    holder.close();
    await once(holder, 'close');
    const r = await runCli(['verify', `https://127.0.0.1:${port}`, '--timeout', '5']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, `UNREACHABLE  SERVER_UNREACHABLE: Cannot talk to 127.0.0.1:${port} directly: ECONNREFUSED.\n`);
  });

  it('the verdict is the first line, leading with SIMULATION and naming the policy, the server just below; --max-age is enforced', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'blindbox-contract-'));
    const root = path.join(dir, 'root.pem');
    const serve = await startServe(['--simulate', '--engine', 'none', '--trust-out', root]);
    try {
      const r = await runCli(['verify', serve.url, '--trust-root', root, '--max-age', '600']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.match(lines[0]!, /^SIMULATION {2}VERIFIED {2}policy "default": attestation document is authentic \(chain ends in .*, NOT an AWS root: not confidential\)$/);
      assert.equal(lines[1], '');
      assert.equal(lines[2], `  server     ${serve.url}`);
      assert.match(lines[3]!, /^ {2}module {5}\S/);
      const json = await runCli(['verify', serve.url, '--trust-root', root, '--max-age', '86401']);
      assert.equal(json.code, 2);
      assert.equal(firstLine(json.stderr), 'blindbox verify: --max-age may be at most 86400 seconds (one day)');
    } finally {
      await serve.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a message ending in another ends with one full stop', () => {
    assert.equal(endSentence('Cannot talk to h: ECONNREFUSED'), 'Cannot talk to h: ECONNREFUSED.');
    assert.equal(endSentence('Cannot talk to h: fetch failed.'), 'Cannot talk to h: fetch failed.');
    assert.equal(endSentence('the server said (it is down.)'), 'the server said (it is down.)');
  });

  it('an error set in parentheses of ours keeps its words, not its full stop', () => {
    const clause = (message: string) => `attempt 1 of 4 failed (${errorClause({ code: 'SERVER_UNREACHABLE', message })}); trying a new connection`;
    assert.equal(clause('Cannot talk to h: ECONNRESET.'), 'attempt 1 of 4 failed (SERVER_UNREACHABLE: Cannot talk to h: ECONNRESET); trying a new connection');
    assert.equal(clause('Cannot talk to h'), 'attempt 1 of 4 failed (SERVER_UNREACHABLE: Cannot talk to h); trying a new connection');
    assert.equal(clause('It trails off...'), 'attempt 1 of 4 failed (SERVER_UNREACHABLE: It trails off...); trying a new connection');
    assert.equal(clause('Cannot talk to h: (it is down.)'), 'attempt 1 of 4 failed (SERVER_UNREACHABLE: Cannot talk to h: (it is down)); trying a new connection');
  });
});
