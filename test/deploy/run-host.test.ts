/**
 * deploy/nitro/run.sh on a stand-in parent instance: `nitro-cli`, `nft` and `systemctl` are fake executables on PATH
 * that record their arguments (nitro-cli answers with JSON shaped like the real one's), the system paths the script
 * writes and reads (allocator.yaml, the driver's CPU pool, the unit's files) live under BLINDBOX_TEST_ONLY_ROOT, and
 * the app behind the host proxy is a loopback server on the public port: the real reference server (in simulation),
 * or a TCP server that accepts and never answers. No VSOCK, no firewall change, nothing installed on this machine.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { runScript, writeFakeTools, type ScriptResult } from '../../support/scripts.js';
import { startSimulationServer } from '../../support/servers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RUN = path.join(ROOT, 'deploy', 'nitro', 'run.sh');
const MiB = 1024 * 1024;

/** The fake nitro-cli's answers, shaped like the real one's. */
const NITRO_CLI = `case "$1" in
  run-enclave)
    echo "Start allocating memory..." >&2
    printf '{"EnclaveName":"blindbox","EnclaveID":"i-0123456789abcdef0-enc0123456789abcdef","ProcessID":4242,"EnclaveCID":16,"NumberOfCPUs":2,"CPUIDs":[1,3],"MemoryMiB":4096}\\n' ;;
  describe-enclaves)
    printf '[{"EnclaveName":"blindbox","EnclaveID":"i-0123456789abcdef0-enc0123456789abcdef","ProcessID":4242,"EnclaveCID":16,"NumberOfCPUs":2,"CPUIDs":[1,3],"MemoryMiB":4096,"State":"RUNNING","Flags":"NONE"}]\\n' ;;
  terminate-enclave) printf '{"EnclaveName":"blindbox","EnclaveID":"%s","Terminated":true}\\n' "$3" ;;
  console) echo "Connecting to the console for enclave 16..." ;;
esac`;

let dir: string;
let sys: string;
/** The ruleset run.sh gave nft in the run that came up. */
let ruleset = '';

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'blindbox-run-'));
  // nft -f - also logs its stdin, the ruleset.
  await writeFakeTools(path.join(dir, 'bin'), { 'nitro-cli': NITRO_CLI, nft: 'cat >>"$FAKE_LOG"', systemctl: '' });
  sys = path.join(dir, 'sys');
  await mkdir(path.join(sys, 'etc', 'nitro_enclaves'), { recursive: true });
  await writeFile(path.join(sys, 'etc', 'nitro_enclaves', 'allocator.yaml'), '---\nmemory_mib: 8192\ncpu_count: 2\n');
  await mkdir(path.join(sys, 'sys', 'module', 'nitro_enclaves', 'parameters'), { recursive: true });
  await writeFile(path.join(sys, 'sys', 'module', 'nitro_enclaves', 'parameters', 'ne_cpus'), '1,3\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An EIF of `mib` MiB (sparse: only its size matters to run.sh). */
async function eifOf(mib: number): Promise<string> {
  const file = path.join(dir, `blindbox-${mib}.eif`);
  await writeFile(file, '');
  await truncate(file, mib * MiB);
  return file;
}

/** Runs run.sh with the fakes; resolves with its exit code, output and the fakes' calls. */
async function runSh(args: string[], port: number, env: Record<string, string> = {}): Promise<ScriptResult & { calls: string }> {
  const log = path.join(dir, `calls-${port}-${Date.now()}.log`);
  await writeFile(log, '');
  const r = await runScript(RUN, args, { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, FAKE_LOG: log, BLINDBOX_TEST_ONLY_ROOT: sys, BLINDBOX_PUBLIC_PORT: String(port), ...env });
  return { ...r, calls: await readFile(log, 'utf8') };
}

/** A loopback server that accepts connections and never answers: an enclave whose app never started. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => (sockets.add(s), s.on('error', () => {})));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const nitroCalls = (calls: string) => calls.split('\n').filter((l) => l.startsWith('nitro-cli '));

describe('deploy/nitro/run.sh', () => {
  it('refuses an EIF too large for --memory (4 × its size) before nitro-cli or anything else runs', async () => {
    const r = await runSh(['--eif', await eifOf(1100), '--memory', '4096'], 1);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /--memory 4096 MiB is too little for .*blindbox-1100\.eif \(1100 MiB\): nitro-cli needs at least 4 × the EIF's size, 4400 MiB/);
    assert.equal(r.calls, '', 'nothing ran: no nitro-cli, no firewall change, no unit installed');
  });

  it('refuses more memory than the allocator reserves, and more CPUs than its pool holds, before nitro-cli runs', async () => {
    const eif = await eifOf(100);
    const memory = await runSh(['--eif', eif, '--memory', '16384'], 1);
    assert.equal(memory.code, 1);
    assert.match(memory.stderr, /--memory 16384 MiB is more than the allocator reserves \(8192 MiB, memory_mib in .*allocator\.yaml\)/);
    const cpus = await runSh(['--eif', eif, '--cpus', '4'], 1);
    assert.equal(cpus.code, 1);
    assert.match(cpus.stderr, /--cpus 4 is more than the enclave CPU pool holds \(2: 1,3\)/);
    assert.equal(memory.calls + cpus.calls, '');
  });

  it('keeps --attach-console for debug mode', async () => {
    const r = await runSh(['--eif', await eifOf(100), '--attach-console'], 1);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--attach-console needs --debug/);
    assert.equal(r.calls, '');
  });

  it('reports up only once the app answers /healthz through the host proxy; caps connections per client with nftables', async () => {
    const app = await startSimulationServer();
    try {
      const port = Number(new URL(app.url).port);
      const r = await runSh(['--eif', await eifOf(100), '--memory', '2048'], port, { BLINDBOX_HEALTH_TIMEOUT: '20' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /run\.sh: up: the enclave i-0123456789abcdef0-enc0123456789abcdef answers \/healthz through the host proxy/);
      assert.deepEqual(nitroCalls(r.calls), [
        `nitro-cli run-enclave --eif-path ${dir}/blindbox-100.eif --memory 2048 --cpu-count 2 --enclave-cid 16`,
        'nitro-cli describe-enclaves',
      ]);
      assert.match(r.calls, /^nft -f -$/m);
      assert.match(r.calls, new RegExp(`tcp dport ${port} ct state new add @clients4 \\{ ip saddr ct count over 32 \\} reject with tcp reset`));
      assert.match(r.calls, /systemctl enable --now blindbox-host-proxy\.service/);
      assert.equal(await readFile(path.join(sys, 'etc', 'blindbox', 'host-proxy.env'), 'utf8'), 'BLINDBOX_ENCLAVE_CID=16\n');
      ruleset = r.calls.slice(r.calls.indexOf('nft -f -\n') + 'nft -f -\n'.length, r.calls.indexOf('\nsystemctl '));
    } finally {
      await app.close();
    }
  });

  it("gives nft a ruleset it loads, twice over as one table, that refuses a client's 33rd connection at once", { skip: process.getuid?.() === 0 ? false : 'needs root: nft loads the rules in a private network namespace' }, async () => {
    assert.match(ruleset, /^table inet blindbox\n/);
    const port = /tcp dport (\d+) /.exec(ruleset)![1]!;
    const file = path.join(dir, 'rules.nft');
    await writeFile(file, ruleset);
    // In a private network namespace (its own loopback and firewall): load the rules twice, then one client opens 40
    // connections to a server on the capped port and holds them.
    const probe = path.join(dir, 'probe.mjs');
    await writeFile(
      probe,
      `import { createServer, connect } from 'node:net';
const port = Number(process.argv[2]);
const server = createServer((s) => s.on('error', () => {})).listen(port, '127.0.0.1', async () => {
  const held = [];
  let refused = 0;
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (held.push(s), resolve()));
      s.once('error', () => (refused++, resolve()));
    });
  }
  console.log(JSON.stringify({ connected: held.length, refused }));
  for (const s of held) s.destroy();
  server.close();
});
`,
    );
    const script = 'ip link set lo up && nft -f "$1" && nft -f "$1" && nft list ruleset && "$2" "$3" "$4"';
    const { stdout } = await promisify(execFile)('unshare', ['--net', 'bash', '-c', script, '_', file, process.execPath, probe, port], { timeout: 30_000 });
    assert.equal(stdout.match(/^table /gm)?.length, 1, stdout);
    assert.match(stdout, /add @clients6 \{ ip6 saddr ct count over 32 \} reject with tcp reset/);
    assert.deepEqual(JSON.parse(stdout.trimEnd().split('\n').at(-1)!), { connected: 32, refused: 8 });
  });

  it('fails with the debug console hint, and terminates the enclave, when the app never answers /healthz', async () => {
    const app = await silentServer();
    try {
      const r = await runSh(['--eif', await eifOf(100)], app.port, { BLINDBOX_HEALTH_TIMEOUT: '3' });
      assert.equal(r.code, 1, r.stdout);
      assert.doesNotMatch(r.stdout, /up:/);
      assert.match(r.stderr, /FAILED: no answer from \/healthz through the host proxy \(port \d+\) within 3 s/);
      assert.match(r.stderr, /run again with --debug --attach-console \(--debug-mode/);
      assert.deepEqual(nitroCalls(r.calls).map((c) => c.split(' ').slice(0, 2).join(' ')), ['nitro-cli run-enclave', 'nitro-cli describe-enclaves', 'nitro-cli terminate-enclave']);
    } finally {
      await app.close();
    }
  });

  it('--debug runs in debug mode without attaching; --attach-console attaches only after describe-enclaves, and a failing debug enclave is left for its console', async () => {
    const app = await silentServer();
    try {
      const debug = await runSh(['--eif', await eifOf(100), '--debug'], app.port, { BLINDBOX_HEALTH_TIMEOUT: '1' });
      assert.equal(debug.code, 1);
      assert.match(nitroCalls(debug.calls)[0]!, / --debug-mode$/);
      assert.ok(!debug.calls.includes('--attach-console') && !debug.calls.includes('nitro-cli console'), debug.calls);
      assert.ok(!debug.calls.includes('terminate-enclave'));
      assert.match(debug.stderr, /left running in debug mode: read why on its console, nitro-cli console --enclave-id i-0123456789abcdef0-enc0123456789abcdef/);
      const attach = await runSh(['--eif', await eifOf(100), '--debug', '--attach-console'], app.port, { BLINDBOX_HEALTH_TIMEOUT: '1' });
      assert.deepEqual(nitroCalls(attach.calls), [
        `nitro-cli run-enclave --eif-path ${dir}/blindbox-100.eif --memory 4096 --cpu-count 2 --enclave-cid 16 --debug-mode`,
        'nitro-cli describe-enclaves',
        'nitro-cli console --enclave-id i-0123456789abcdef0-enc0123456789abcdef',
      ]);
    } finally {
      await app.close();
    }
  });
});
